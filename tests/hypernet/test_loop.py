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


def test_named_specials_leave_placeholder_tokens_out_of_every_sample(tiny_models, corpus_file):
    """Gemma 3 carries 6,241 <unusedN> special tokens: with sampler.specials = named, samples hold the named
    special tokens alone (all: every special token, the default)."""
    from tokenizers import AddedToken

    from tokshift.core.params import from_dict
    from tokshift.data.corpus import read_corpus
    from tokshift.hypernet.config import TrainConfig
    from tokshift.hypernet.loop import Trainer
    from tokshift.model.base import load_model

    model, tok = load_model(str(tiny_models["llama-tied"]))
    tok.add_tokens([AddedToken(f"<unused{i}>", special=True) for i in range(30)])
    model.resize_token_embeddings(len(tok))
    docs = {"de": read_corpus(corpus_file, split="train", lang="de").column("text").to_pylist()}
    specials = {}
    for which in ("all", "named"):
        cfg = from_dict(TrainConfig, {"steps": 1, "batch_size": 2, "seq_len": 16, "langs": ["de"],
                                      "model": {"n_layers": 1, "hidden": 16, "n_heads": 2},
                                      "sampler": {"vocab_min": 20, "vocab_max": 40, "cache_texts": 6,
                                                  "max_piece_chars": 6, "specials": which}}, "hypernet")
        trainer = Trainer(cfg, model, tok, docs)
        specials[which] = trainer.specials
        trainer.batches.close()
    assert {f"<unused{i}>" for i in range(30)} <= set(specials["all"]) - set(specials["named"])
    assert specials["named"] == [str(t) for t in tok.all_special_tokens] == ["<|endoftext|>"]
