"""Hypernetworks for encoders without a head: both tokenizations read the same text, the frozen encoder teaches
through its states (hidden) and sentence embeddings (pooled), and the curve is the pooled distance."""

from __future__ import annotations

import math

import pytest
import torch

from tokshift.core.params import from_dict
from tokshift.data.corpus import read_corpus
from tokshift.hypernet.config import TrainConfig
from tokshift.hypernet.distill import pooled_loss
from tokshift.hypernet.loop import Trainer
from tokshift.model.base import load_model


def encoder_trainer(tiny_e5, corpus_file, **overrides) -> Trainer:
    model, tok = load_model(str(tiny_e5["folder"]))
    docs = {"de": read_corpus(corpus_file, split="train", lang="de").column("text").to_pylist()}
    valid = read_corpus(corpus_file, split="valid", lang="de").column("text").to_pylist()[:3]
    cfg = from_dict(TrainConfig, {"steps": 4, "batch_size": 2, "seq_len": 24, "langs": ["de"], "lr": 0.01,
                                  "warmup_steps": 1, "objective": "hidden+pooled", "eval_every": 0,
                                  "model": {"n_layers": 1, "hidden": 16, "n_heads": 2},
                                  "sampler": {"vocab_min": 30, "vocab_max": 60, "cache_texts": 8}, **overrides}, "test")
    return Trainer(cfg, model, tok, docs, {str(tiny_e5["target"]): {"de": valid}}, prefix="query: ")


def test_student_and_teacher_read_the_same_text_closed_by_eos(tiny_e5, corpus_file):
    trainer = encoder_trainer(tiny_e5, corpus_file)
    trainer.batches.maker.used_only = lambda step: False  # ids of the whole sample, so they decode
    batch = trainer.batches.maker.make(0)
    sample, base = batch.sample.tokenizer, trainer.base_tok
    eos_s, eos_t = sample.token_to_id("</s>"), base.token_to_id("</s>")
    for row in range(batch.ids.shape[0]):
        s = batch.ids[row][batch.mask[row].bool()].tolist()
        t = batch.teacher_ids[row][batch.teacher_mask[row].bool()].tolist()
        assert s[-1] == eos_s and t[-1] == eos_t
        as_text = lambda tok, ids: tok.decode(ids[1:-1]).replace(" ", "")  # noqa: E731
        assert as_text(sample, s) == as_text(base, t) != ""
    # The last aligned boundary of each row is its last real token before EOS, in both sequences.
    for row in range(batch.ids.shape[0]):
        k = batch.align.student[:, 0] == row
        assert batch.align.student[k, 1].max() == batch.mask[row].sum() - 2
        assert batch.align.teacher[k, 1].max() == batch.teacher_mask[row].sum() - 2


def test_pooled_loss_is_zero_for_the_same_states_and_reaches_the_student():
    states = torch.randn(2, 5, 8, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert pooled_loss(states, mask, states.detach(), mask).abs().item() < 1e-6
    padded = torch.cat([states.detach(), torch.full((2, 2, 8), 50.0)], 1)
    assert pooled_loss(states, mask, padded, torch.cat([mask, torch.zeros(2, 2, dtype=torch.long)], 1)).abs() < 1e-6
    other = pooled_loss(states, mask, torch.randn(2, 5, 8), mask)
    other.backward()
    assert other.item() > 0 and states.grad.abs().sum() > 0


def test_encoder_trains_with_hidden_and_pooled_and_starts_at_fvt(tiny_e5, corpus_file, tmp_path):
    trainer = encoder_trainer(tiny_e5, corpus_file)
    result = trainer.train(tmp_path / "ck")
    assert trainer.metric == "pooled_distance" and trainer.layers == 2  # every block of the encoder
    rows = trainer.rows
    assert all(math.isnan(r["lm_loss"]) and r["hidden_loss"] > 0 and r["pooled_loss"] >= 0 for r in rows)
    name = tiny_e5["target"].name
    start = trainer.bpb_rows[0]
    assert start[f"{name}/hypernet"] == pytest.approx(start[f"{name}/fvt"], abs=1e-5)  # heads start at zero on FVT
    assert 0 < result["final_bpb"][f"{name}/hypernet"] < 2


def test_encoder_without_a_head_refuses_the_lm_term(tiny_e5, corpus_file):
    with pytest.raises(ValueError, match="has no LM head: use hidden and/or pooled"):
        encoder_trainer(tiny_e5, corpus_file, objective="lm")
