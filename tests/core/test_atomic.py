"""Writers replace their output atomically: a failure or a kill leaves the previous one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import ROOT
from tokshift.core.atomic import atomic_dir, sweep


def test_atomic_dir_outputs_get_the_usual_permissions(tmp_path):
    import torch
    from safetensors.torch import save_file

    with atomic_dir(tmp_path / "out") as tmp:
        save_file({"x": torch.zeros(2)}, str(tmp / "w.safetensors"))  # safetensors writes 0600
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out" / "w.safetensors").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o777 & ~mask


def test_atomic_dir_keeps_old_output_on_error(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "good.txt").write_text("good")
    with pytest.raises(RuntimeError), atomic_dir(final) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in final.iterdir()] == ["good.txt"]


def test_killed_writer_never_replaces_output(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "good.txt").write_text("good")
    script = textwrap.dedent(f"""
        import time
        from tokshift.core.atomic import atomic_dir, sweep
        with atomic_dir({str(final)!r}) as tmp:
            (tmp / "half.txt").write_text("half")
            print("writing", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert [p.name for p in final.iterdir()] == ["good.txt"]
    [left] = [p.name for p in tmp_path.iterdir() if p.name != "out"]
    assert left.startswith(f".out.tmp-{proc.pid}-")
    # the next write of the same output removes what the killed writer left
    with atomic_dir(final) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_sweep_leaves_live_writers_and_other_files(tmp_path):
    final = tmp_path / "corpus.parquet"
    live = tmp_path / f".corpus.parquet.tmp-{os.getpid()}-abc"
    dead = tmp_path / ".corpus.parquet.tmp-999999999-abc"
    other = tmp_path / ".corpus.parquet.notes-1"
    for path in (live, dead, other):
        path.write_text("x")
    assert sweep(final) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])
