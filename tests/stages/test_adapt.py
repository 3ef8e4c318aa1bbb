"""The adapt stage script: metrics and curve, and the same result as one process under torchrun with DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from tests.helpers import ROOT, free_port

pytestmark = pytest.mark.slow  # runs the stage script, once under torchrun

PARAMS = {"adapt": {"steps": 4, "batch_size": 4, "seq_len": 16, "lr": 0.01, "warmup_steps": 1, "eval_every": 2,
                    "eval_max_bytes": 300, "checkpoint_every": 2, "max_train_bytes": 20_000, "ema_decay": 0.5,
                    "bf16": False}}  # float32: the two runs differ only in summation order


def run_stage(tmp: Path, transfer: Path, corpus: Path, launcher: list[str] | None = None) -> None:
    (tmp / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    cmd = [*(launcher or [sys.executable]), "stages/adapt.py", "--params", str(tmp / "params.yaml"),
           "--transfer", str(transfer), "--corpus", str(corpus), "--out", str(tmp / "out"), "--checkpoints",
           str(tmp / "ckpt"), "--metrics", str(tmp / "metrics.json"), "--curve", str(tmp / "curve.csv")]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_two_processes_with_ddp_take_the_single_process_steps(ja_transfers, corpus_file, tmp_path):
    """Each process takes half of every batch and DDP averages the gradients: the single-process run, up to
    float summation order."""
    for d in ("one", "two"):
        (tmp_path / d).mkdir()
    run_stage(tmp_path / "one", ja_transfers / "fvt", corpus_file)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", free_port()]
    run_stage(tmp_path / "two", ja_transfers / "fvt", corpus_file, launcher=torchrun)
    one, two = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("one", "two"))
    assert one["processes"] == 1 and two["processes"] == 2 and one["steps"] == two["steps"] == 4
    assert abs(one["valid_bpb"] - two["valid_bpb"]) < 1e-4
    curve = (tmp_path / "one" / "curve.csv").read_text().splitlines()
    assert curve[0].startswith("step,tokens,seconds,ja,bpb") and [r.split(",")[0] for r in curve[1:]] == ["0", "2", "4"]
    a, b = (load_file(str(tmp_path / d / "out" / "embeddings.safetensors")) for d in ("one", "two"))
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    before = load_file(str(ja_transfers / "fvt" / "embeddings.safetensors"))
    assert not torch.allclose(a["input"], before["input"], atol=1e-3), "the embeddings trained"
