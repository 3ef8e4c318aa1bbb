"""The training loop: a warm-up objective then another, and each kind of model refuses terms it cannot give."""

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


@pytest.mark.parametrize(("kind", "objective", "message"), [
    ("bert-mlm", "segment", "'segment' .* needs a causal LM"),
    ("bert-mlm", "lm+hidden", "trains 'lm' \\(masked\\) alone"),
    ("llama-tied", "lm+pooled", "'pooled' matches sentence embeddings of an encoder"),
])
def test_models_refuse_terms_they_cannot_give(tiny_models, kind, objective, message):
    model, tok = load_model(str(tiny_models[kind]))
    with pytest.raises(ValueError, match=message):
        Trainer(TrainConfig(objective=objective, langs=["de"]), model, tok, {"de": ["text"]})
