"""The hypernet stage: curves and metrics, weight average, exact resume after SIGKILL, DDP, masked LMs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from safetensors.torch import load_file

from tests.helpers import ROOT, free_port

pytestmark = pytest.mark.slow  # runs the stage script, killed and under DDP

PARAMS = {"hypernet": {
    "steps": 6, "batch_size": 2, "seq_len": 16, "langs": ["de", "ja"], "lr": 0.01, "warmup_steps": 1, "ema_decay": 0.5,
    "compose_steps": 1, "compose_batch": 16, "checkpoint_every": 2, "eval_every": 3, "eval_max_bytes": 300,
    "eval_tokenizers": [],
    "model": {"n_layers": 1, "hidden": 16, "n_heads": 2},
    "sampler": {"vocab_min": 20, "vocab_max": 40, "cache_texts": 6, "max_piece_chars": 6}}}


def run_stage(tmp: Path, model: Path, corpus: Path, params: dict, launcher: list[str] | None = None,
              script: list[str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    (tmp / "params.yaml").write_text(yaml.safe_dump(params))
    cmd = [*(launcher or [sys.executable]), *(script or ["stages/hypernet.py"]), "--params", str(tmp / "params.yaml"),
           "--model", str(model), "--corpus", str(corpus), "--out", str(tmp / "out"), "--checkpoints",
           str(tmp / "ckpt"), "--metrics", str(tmp / "metrics.json"), "--curve", str(tmp / "curve.csv"),
           "--bpb-curve", str(tmp / "bpb.csv"), "--png", str(tmp / "bpb.png")]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "2"}  # bit-exact with threads too
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def reference(tiny_models, corpus_file, tokenizers_dir, tmp_path_factory) -> Path:
    """One uninterrupted run, with the bpb-vs-step curve on de-bpe-400."""
    tmp = tmp_path_factory.mktemp("hn-ref")
    params = json.loads(json.dumps(PARAMS))
    params["hypernet"]["eval_tokenizers"] = [str(tokenizers_dir / "de-bpe-400")]
    run_stage(tmp, tiny_models["llama-tied"], corpus_file, params)
    return tmp


def test_stage_writes_hypernetwork_curves_and_metrics(reference):
    metrics = json.loads((reference / "metrics.json").read_text())
    assert metrics["steps"] == 6 and metrics["processes"] == 1
    assert set(metrics["valid_bpb"]["fvt"]) == {"de-bpe-400"} == set(metrics["valid_bpb"]["hypernet"])
    curve = (reference / "curve.csv").read_text().splitlines()
    assert curve[0].startswith("step,loss,lm_loss,lexical_loss") and len(curve) == 7
    bpb = (reference / "bpb.csv").read_text().splitlines()
    assert bpb[0] == "step,seconds,de-bpe-400/hypernet,de-bpe-400/fvt"
    assert [r.split(",")[0] for r in bpb[1:]] == ["0", "3", "6"]
    seconds = [float(r.split(",")[1]) for r in bpb[1:]]
    assert seconds[0] == 0 <= seconds[1] <= seconds[2] <= metrics["wall_seconds"], "training seconds, not falling"
    step0 = bpb[1].split(",")
    assert abs(float(step0[2]) - float(step0[3])) < 1e-3, "the untrained hypernetwork scores like FVT"
    assert (reference / "bpb.png").read_bytes()[:4] == b"\x89PNG"
    assert load_file(str(reference / "out" / "hypernet.safetensors"))


def test_saved_network_is_the_weight_average(reference):
    """With ema_decay the stage saves the moving average (kept in every checkpoint), not the last iterate."""
    last = next(next((reference / "ckpt").iterdir()).glob("step-000006"))
    files = (reference / "out" / "hypernet.safetensors", last / "ema" / "hypernet.safetensors",
             last / "hypernet.safetensors")
    saved, ema, raw = (load_file(str(p)) for p in files)
    assert all((saved[k] == ema[k]).all() for k in saved)
    head = [k for k in saved if k.startswith("heads.")][0]
    assert not (saved[head] == raw[head]).all()
    assert saved[head].norm() < raw[head].norm(), "the average starts at the zero-initialised heads"


def test_resume_after_kill_is_exact(reference, tiny_models, corpus_file, tokenizers_dir, tmp_path):
    params = json.loads(json.dumps(PARAMS))
    params["hypernet"]["eval_tokenizers"] = [str(tokenizers_dir / "de-bpe-400")]
    # the 3rd lm step is step 3 (step 0 is a compositional warm-up step)
    kill = ["tests/kill_at.py", "tokshift.hypernet.loop:Trainer.lm_step", "3", "stages/hypernet.py"]
    killed = run_stage(tmp_path, tiny_models["llama-tied"], corpus_file, params, script=kill, check=False)
    assert killed.returncode == -9 and not (tmp_path / "out").exists()
    assert sorted(p.name for p in next((tmp_path / "ckpt").iterdir()).iterdir()) == ["step-000002"]
    spent = json.loads((next((tmp_path / "ckpt").iterdir()) / "step-000002" / "state.json").read_text())["seconds"]
    assert spent > 0
    run_stage(tmp_path, tiny_models["llama-tied"], corpus_file, params)
    assert json.loads((tmp_path / "metrics.json").read_text())["wall_seconds"] > spent, "earlier runs' time counts"
    ours, ref = load_file(str(tmp_path / "out" / "hypernet.safetensors")), load_file(
        str(reference / "out" / "hypernet.safetensors"))
    assert all((ours[k] == ref[k]).all() for k in ref), "bit-identical to the uninterrupted run"
    assert (tmp_path / "curve.csv").read_text() == (reference / "curve.csv").read_text()


def test_changed_config_starts_fresh_and_foreign_checkpoint_is_refused(reference, tiny_models, corpus_file, tmp_path):
    shutil.copytree(reference / "ckpt", tmp_path / "ckpt")
    params = json.loads(json.dumps(PARAMS))
    params["hypernet"]["lr"] = 0.02  # another run: another checkpoint key, not a silent resume
    run_stage(tmp_path, tiny_models["llama-tied"], corpus_file, params)
    assert len(list((tmp_path / "ckpt").iterdir())) == 2
    # The same config on another base model: refused by name.
    from tokshift.core.params import from_dict
    from tokshift.hypernet.config import TrainConfig
    from tokshift.hypernet.folder import CheckpointMismatchError
    from tokshift.hypernet.loop import Trainer
    from tokshift.model.base import load_model

    model, tok = load_model(str(tiny_models["neox-untied"]))
    trainer = Trainer(from_dict(TrainConfig, PARAMS["hypernet"], "hypernet"), model, tok, {"de": ["text"], "ja": ["x"]})
    ckpt = next(next((reference / "ckpt").iterdir()).iterdir())
    with pytest.raises(CheckpointMismatchError, match="another base model"):
        trainer.load_checkpoint(ckpt)


def test_two_processes_with_ddp(tiny_models, corpus_file, tmp_path):
    """torchrun with 2 CPU processes (gloo): the same stage script, unchanged."""
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", free_port()]
    run_stage(tmp_path, tiny_models["llama-tied"], corpus_file, PARAMS, launcher=torchrun)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["steps"] == 6
    assert load_file(str(tmp_path / "out" / "hypernet.safetensors"))


def test_masked_lm_trains(masked_bert, corpus_file, tmp_path):
    """An encoder (BERT MLM) with a mask token trains with the masked-LM loss."""
    run_stage(tmp_path, masked_bert, corpus_file, PARAMS)
    rows = (tmp_path / "curve.csv").read_text().splitlines()[2:]
    assert all(float(r.split(",")[2]) > 0 for r in rows), "masked-LM loss on every LM step"
