"""Adapting a transfer: the loss falls, the result is a transfer folder that exports and loads, a kill resumes
exactly, and bad settings are one line naming the field."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.helpers import ROOT
from tokshift.adapt.config import AdaptConfig
from tokshift.adapt.train import adapt_transfer
from tokshift.core.errors import InputError
from tokshift.core.params import ParamsError, from_dict
from tokshift.transfers.export import export
from tokshift.transfers.folder import read_transfer

SMALL = dict(steps=6, batch_size=2, seq_len=16, lr=0.01, body_lr=0.01, warmup_steps=1, eval_every=3,
             eval_max_bytes=300, checkpoint_every=2, max_train_bytes=20_000)


def run(ja_transfers, corpus_file, tmp_path, **kw):
    cfg = AdaptConfig(**{**SMALL, **kw})
    return adapt_transfer(ja_transfers / "fvt", corpus_file, tmp_path / "out", tmp_path / "ckpt", cfg)


@pytest.mark.parametrize("train", ["embeddings", "lora", "all"])
def test_adaptation_lowers_valid_bpb_and_writes_a_transfer_folder(ja_transfers, corpus_file, tmp_path, train):
    done = run(ja_transfers, corpus_file, tmp_path, train=train)
    curve = done.curve
    assert [r["step"] for r in curve] == [0, 3, 6] and curve[-1]["bpb"] < curve[0]["bpb"]
    meta, mats = read_transfer(tmp_path / "out")
    assert meta["method"] == "fvt+adapt" and meta["adapt"]["init"] == "fvt" and meta["adapt"]["train"] == train
    assert meta["adapt"]["tokens"] == 6 * 2 * 16
    _, before = read_transfer(ja_transfers / "fvt")
    assert not torch.equal(mats["input"], before["input"]), "the embeddings trained"
    weights = tmp_path / "out" / "weights.safetensors"
    assert weights.exists() == (train != "embeddings")
    if train == "lora":  # merged: plain projection weights, no adapter tensors
        names = list(load_file(str(weights)))
        assert names and all("lora" not in n and n.endswith("_proj.weight") for n in names)
    # exports to a stock folder that scores like the adapted model did
    export(tmp_path / "out", tmp_path / "model")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "model")
    tok = AutoTokenizer.from_pretrained(tmp_path / "model")
    from tokshift.model.score import score_texts

    valid = done.valid["ja"]
    assert abs(score_texts(model, tok, valid).bpb - curve[-1]["ja"]) < 1e-4


def test_a_killed_run_resumes_exactly_and_a_finished_one_is_not_retrained(ja_transfers, corpus_file, tmp_path):
    reference = run(ja_transfers, corpus_file, tmp_path / "ref")
    script = tmp_path / "adapt_once.py"
    script.write_text(
        "from pathlib import Path\nfrom tokshift.adapt.config import AdaptConfig\n"
        "from tokshift.adapt.train import adapt_transfer\n"
        f"adapt_transfer(Path({str(ja_transfers / 'fvt')!r}), Path({str(corpus_file)!r}), "
        f"Path({str(tmp_path / 'out')!r}), Path({str(tmp_path / 'ckpt')!r}), AdaptConfig(**{SMALL!r}))\n")
    # SIGKILL in the 4th step: after the checkpoint at step 2, before the one at step 4
    kill = [str(ROOT / "tests" / "kill_at.py"), "tokshift.adapt.train:Adaptation.train_step", "4"]
    proc = subprocess.run([sys.executable, *kill, str(script)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not (tmp_path / "out").exists()
    [key] = list((tmp_path / "ckpt").iterdir())
    assert [p.name for p in key.iterdir()] == ["step-000002"]
    resumed = run(ja_transfers, corpus_file, tmp_path)
    assert [r["loss"] for r in resumed.rows] == [r["loss"] for r in reference.rows]
    assert [r["bpb"] for r in resumed.curve] == [r["bpb"] for r in reference.curve]
    ours, ref = (load_file(str(p / "out" / "embeddings.safetensors")) for p in (tmp_path, tmp_path / "ref"))
    assert all(torch.equal(ours[k], ref[k]) for k in ref), "bit-identical to the uninterrupted run"
    again = run(ja_transfers, corpus_file, tmp_path)
    assert again.rows == resumed.rows and again.step == 6, "a finished run is read back, not retrained"


@pytest.mark.parametrize("field, value, message", [
    ("steps", 0, "steps must be > 0, got 0"),
    ("train", "bias", "train must be one of ['embeddings', 'lora', 'all'], got 'bias'"),
    ("device", "gpu", "device must be auto, cpu, cuda or cuda:N"),
])
def test_bad_settings_name_the_field(field, value, message):
    with pytest.raises(ParamsError, match="^" + re.escape(f"adapt.{message}")):
        from_dict(AdaptConfig, {field: value}, "adapt")


def test_lora_targets_the_model_lacks_are_one_line(ja_transfers, corpus_file, tmp_path):
    with pytest.raises(InputError, match=r"^adapt\.lora_targets: \['c_attn'\] are not modules of LlamaForCausalLM"):
        run(ja_transfers, corpus_file, tmp_path, train="lora", lora_targets=["q_proj", "c_attn"])
