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
from tokshift.adapt.train import Adaptation, adapt_transfer
from tokshift.core.errors import InputError
from tokshift.core.params import ParamsError, from_dict
from tokshift.hypernet.folder import CheckpointMismatchError
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


def test_the_warm_up_moves_only_the_input_embeddings(ja_transfers, corpus_file):
    cfg = AdaptConfig(**{**SMALL, "train": "all", "distill_steps": 3, "distill_layers": 1})
    adapting = Adaptation(cfg, ja_transfers / "fvt", corpus_file)
    before = {n: p.clone() for n, p in adapting.trainable().items()}

    def changed():
        return {n for n, p in adapting.trainable().items() if not torch.equal(p, before[n])}

    for _ in range(3):
        assert adapting.train_step()[0] == "distill"
        adapting.step += 1
    assert changed() == {"model.embed_tokens.weight"}  # tied: the output embeddings too
    assert adapting.train_step()[0] == "lm"
    assert len(changed()) == len(before), "after the warm-up every weight trains (train: all)"


def test_the_weight_average_is_what_is_evaluated_and_saved(ja_transfers, corpus_file, tmp_path):
    run(ja_transfers, corpus_file, tmp_path / "plain")
    averaged = run(ja_transfers, corpus_file, tmp_path / "avg", ema_decay=0.5, distill_steps=2)
    meta, mats = read_transfer(tmp_path / "avg" / "out")
    assert meta["adapt"]["ema_decay"] == 0.5 and meta["adapt"]["distill_steps"] == 2
    assert [r["objective"] for r in averaged.rows] == ["distill"] * 2 + ["lm"] * 4
    _, plain_mats = read_transfer(tmp_path / "plain" / "out")
    assert not torch.equal(mats["input"], plain_mats["input"])
    # the average differs from the last step's weights, and the saved model scores as the curve's last point
    last = averaged.trainable()["model.embed_tokens.weight"].cpu()
    assert not torch.allclose(mats["input"], last)
    export(tmp_path / "avg" / "out", tmp_path / "model")
    from tokshift.model.score import score_texts

    model = AutoModelForCausalLM.from_pretrained(tmp_path / "model")
    tok = AutoTokenizer.from_pretrained(tmp_path / "model")
    assert abs(score_texts(model, tok, averaged.valid["ja"]).bpb - averaged.curve[-1]["ja"]) < 1e-4


def test_a_transfer_for_another_base_model_is_one_line(ja_transfers, corpus_file, tiny_models, tmp_path):
    model = AutoModelForCausalLM.from_pretrained(tiny_models["llama-tied"])
    with torch.no_grad():  # same architecture and width, other weights: a fine-tuned sibling
        model.get_input_embeddings().weight.mul_(1.01)
    model.save_pretrained(tmp_path / "other")
    AutoTokenizer.from_pretrained(tiny_models["llama-tied"]).save_pretrained(tmp_path / "other")
    with pytest.raises(CheckpointMismatchError, match=r"^" + re.escape(f"{ja_transfers / 'fvt'}/transfer.json was made "
                                                                       "for another base model (embeddings_sha256: ")):
        adapt_transfer(ja_transfers / "fvt", corpus_file, tmp_path / "out", tmp_path / "ckpt", AdaptConfig(**SMALL),
                       base_model=str(tmp_path / "other"))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("extra", [{}, {"ema_decay": 0.5, "distill_steps": 3, "projector": False}],
                         ids=["plain", "warm-up+average"])
def test_a_killed_run_resumes_exactly_and_a_finished_one_is_not_retrained(ja_transfers, corpus_file, tmp_path, extra):
    settings = {**SMALL, **extra}
    reference = run(ja_transfers, corpus_file, tmp_path / "ref", **extra)
    script = tmp_path / "adapt_once.py"
    script.write_text(
        "from pathlib import Path\nfrom tokshift.adapt.config import AdaptConfig\n"
        "from tokshift.adapt.train import adapt_transfer\n"
        f"adapt_transfer(Path({str(ja_transfers / 'fvt')!r}), Path({str(corpus_file)!r}), "
        f"Path({str(tmp_path / 'out')!r}), Path({str(tmp_path / 'ckpt')!r}), AdaptConfig(**{settings!r}))\n")
    # SIGKILL in the 4th step: after the checkpoint at step 2, before the one at step 4
    kill = [str(ROOT / "tests" / "kill_at.py"), "tokshift.adapt.train:Adaptation.train_step", "4"]
    proc = subprocess.run([sys.executable, *kill, str(script)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not (tmp_path / "out").exists()
    [key] = list((tmp_path / "ckpt").iterdir())
    assert [p.name for p in key.iterdir()] == ["step-000002"]
    resumed = run(ja_transfers, corpus_file, tmp_path, **extra)
    assert [r["loss"] for r in resumed.rows] == [r["loss"] for r in reference.rows]
    assert [r["bpb"] for r in resumed.curve] == [r["bpb"] for r in reference.curve]
    ours, ref = (load_file(str(p / "out" / "embeddings.safetensors")) for p in (tmp_path, tmp_path / "ref"))
    assert all(torch.equal(ours[k], ref[k]) for k in ref), "bit-identical to the uninterrupted run"
    written = {f.name: f.read_bytes() for f in (tmp_path / "out").iterdir()}
    again = run(ja_transfers, corpus_file, tmp_path, **extra)
    assert {f.name: f.read_bytes() for f in (tmp_path / "out").iterdir()} == written, "the same folder, byte for byte"
    assert again.rows == resumed.rows and again.step == 6, "a finished run is read back, not retrained"


@pytest.mark.parametrize("field, value, message", [
    ("steps", 0, "steps must be > 0, got 0"),
    ("train", "bias", "train must be one of ['embeddings', 'lora', 'all'], got 'bias'"),
    ("device", "gpu", "device must be auto, cpu, cuda or cuda:N"),
    ("distill_steps", 150, "distill_steps must be >= 0 and below steps (150), got 150"),
    ("ema_decay", 1.0, "ema_decay must be in [0, 1), got 1.0"),
    ("projector_lr", 0.0, "projector_lr must be > 0, got 0.0"),
])
def test_bad_settings_name_the_field(field, value, message):
    with pytest.raises(ParamsError, match="^" + re.escape(f"adapt.{message}")):
        from_dict(AdaptConfig, {field: value}, "adapt")


def test_lora_targets_the_model_lacks_are_one_line(ja_transfers, corpus_file, tmp_path):
    with pytest.raises(InputError, match=r"^adapt\.lora_targets: \['c_attn'\] are not modules of LlamaForCausalLM"):
        run(ja_transfers, corpus_file, tmp_path, train="lora", lora_targets=["q_proj", "c_attn"])


def test_the_projector_moves_tokens_no_batch_holds_and_is_merged_into_a_stock_export(ja_transfers, corpus_file,
                                                                                   tmp_path):
    done = run(ja_transfers, corpus_file, tmp_path, projector=True, projector_lr=0.01)
    assert done.curve[-1]["bpb"] < done.curve[0]["bpb"]
    seen = torch.unique(done.chunks[[i for s in range(6) for i in done.batches.rows(s)]])
    unseen = torch.ones(len(done.tokenizer), dtype=torch.bool)
    unseen[seen] = False
    _, before = read_transfer(ja_transfers / "fvt")
    _, after = read_transfer(tmp_path / "out")
    assert unseen.sum() > 0 and not torch.allclose(after["input"][unseen], before["input"][unseen])
    assert not (tmp_path / "out" / "weights.safetensors").exists(), "the projector lives in the matrices"
    export(tmp_path / "out", tmp_path / "model")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "model")
    from tokshift.model.score import score_texts

    got = score_texts(model, AutoTokenizer.from_pretrained(tmp_path / "model"), done.valid["ja"]).bpb
    assert abs(got - done.curve[-1]["ja"]) < 1e-4, "the merged matrices score as the hooked model did"


def test_a_transfer_applied_after_one_with_weights_gets_the_base_weights_back(ja_transfers, corpus_file, tmp_path):
    from tokshift.hypernet.folder import base_fingerprint
    from tokshift.model.base import load_model
    from tokshift.model.score import score_texts
    from tokshift.transfers.folder import apply_transfer

    done = run(ja_transfers, corpus_file, tmp_path, train="all")
    assert (tmp_path / "out" / "weights.safetensors").exists()
    texts = done.valid["ja"]
    fresh, _ = load_model(str(done.meta["base_model"]))
    expected = score_texts(fresh, apply_transfer(fresh, ja_transfers / "fvt"), texts).bpb
    shared, _ = load_model(str(done.meta["base_model"]))
    base = base_fingerprint(shared)  # as evaluate does: one model, one transfer after the other
    adapted = score_texts(shared, apply_transfer(shared, tmp_path / "out", base), texts).bpb
    after = score_texts(shared, apply_transfer(shared, ja_transfers / "fvt", base), texts).bpb
    assert adapted != expected and after == expected, "the adapted body does not stay for the next transfer"
