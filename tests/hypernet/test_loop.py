"""The training loop: a warm-up objective then another, and masked LMs refuse distillation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tokshift.core.params import from_dict
from tokshift.data.corpus import read_corpus
from tokshift.hypernet.config import TrainConfig
from tokshift.hypernet.loop import Trainer
from tokshift.model.base import load_model


def trained_weights(tiny_models, corpus_file, **overrides):
    model, tok = load_model(str(tiny_models["llama-tied"]))
    docs = {lang: read_corpus(corpus_file, split="train", lang=lang).column("text").to_pylist()
            for lang in ("de", "ja")}
    cfg = from_dict(TrainConfig, {
        "steps": 3, "batch_size": 2, "seq_len": 16, "langs": ["de", "ja"], "lr": 0.01, "warmup_steps": 1,
        "model": {"n_layers": 1, "hidden": 16, "n_heads": 2},
        "sampler": {"vocab_min": 20, "vocab_max": 40, "cache_texts": 6, "max_piece_chars": 6}, **overrides}, "hypernet")
    trainer = Trainer(cfg, model, tok, docs)
    rows = []
    while trainer.step < cfg.steps:
        rows.append(trainer.lm_step(torch.Generator().manual_seed(trainer.step)))
        trainer.step += 1
    trainer.batches.close()
    return {k: v.clone() for k, v in trainer.core.state_dict().items()}, rows


def test_hidden_warmup_then_objective(tiny_models, corpus_file):
    _, rows = trained_weights(tiny_models, corpus_file, objective="lm", hidden_steps=2)
    assert [np.isnan(r["lm_loss"]) for r in rows] == [True, True, False]
    assert [np.isnan(r["hidden_loss"]) for r in rows] == [False, False, True]


def test_masked_lm_refuses_distillation(tiny_models):
    model, tok = load_model(str(tiny_models["bert-mlm"]))
    with pytest.raises(ValueError, match="causal LM"):
        Trainer(TrainConfig(objective="hidden", langs=["de"]), model, tok, {"de": ["text"]})
