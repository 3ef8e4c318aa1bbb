"""Run the hypernet stage but SIGKILL the process in the middle of a step (for the resume test).

Usage: python tests/hypernet_kill.py KILL_AT_STEP <stages/hypernet.py arguments...>
"""

import os
import runpy
import signal
import sys

from tokshift.hypernet import loop

kill_at = int(sys.argv.pop(1))
original = loop.Trainer.lm_step


def lm_step(self, gen):
    if self.step == kill_at:  # mid-step: after the last checkpoint, before the next one
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, gen)


loop.Trainer.lm_step = lm_step
sys.argv[0] = "stages/hypernet.py"
runpy.run_path("stages/hypernet.py", run_name="__main__")
