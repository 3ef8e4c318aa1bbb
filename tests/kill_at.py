"""Run a stage script but SIGKILL it on the N-th call of one function: a crash at a chosen point, as a test needs.

Usage: python tests/kill_at.py MODULE:ATTR[.ATTR] N stages/<stage>.py <stage arguments...>
e.g.   python tests/kill_at.py tokshift.hypernet.loop:Trainer.lm_step 4 stages/hypernet.py ...  (mid-step 3)
"""

import functools
import importlib
import os
import runpy
import signal
import sys

target, kill_on = sys.argv[1], int(sys.argv[2])
del sys.argv[1:3]
module_name, _, path = target.partition(":")
*owners, name = path.split(".")
owner = importlib.import_module(module_name)
for attr in owners:
    owner = getattr(owner, attr)
original = getattr(owner, name)
calls = 0


@functools.wraps(original)
def killer(*args, **kwargs):
    global calls
    calls += 1
    if calls == kill_on:  # SIGKILL: no except, finally or atexit runs, as in an OOM kill or a power cut
        os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)


setattr(owner, name, killer)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
