"""The training loop: a warm-up objective then another, and masked LMs refuse distillation."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import trained_weights
from tokshift.hypernet.config import TrainConfig
from tokshift.hypernet.loop import Trainer
from tokshift.model.base import load_model


def test_hidden_warmup_then_objective(tiny_models, corpus_file):
    _, rows = trained_weights(tiny_models, corpus_file, objective="lm", hidden_steps=2)
    assert [np.isnan(r["lm_loss"]) for r in rows] == [True, True, False]
    assert [np.isnan(r["hidden_loss"]) for r in rows] == [False, False, True]


def test_masked_lm_refuses_distillation(tiny_models):
    model, tok = load_model(str(tiny_models["bert-mlm"]))
    with pytest.raises(ValueError, match="causal LM"):
        Trainer(TrainConfig(objective="hidden", langs=["de"]), model, tok, {"de": ["text"]})
