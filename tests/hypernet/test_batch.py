"""Step batches: built in the background or not, the same; input-only steps embed only used tokens."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers import sampled, trained_weights
from tokshift.core.params import from_dict
from tokshift.data.corpus import read_corpus
from tokshift.hypernet.config import TrainConfig
from tokshift.hypernet.loop import Trainer
from tokshift.model.base import load_model


@pytest.mark.parametrize("objective", ["lm", "hidden+segment"])
def test_background_batches_change_nothing(tiny_models, corpus_file, objective):
    ours, rows = trained_weights(tiny_models, corpus_file, objective=objective, prefetch=True)
    ref, _ = trained_weights(tiny_models, corpus_file, objective=objective, prefetch=False)
    assert all(torch.equal(ours[k], ref[k]) for k in ref)
    assert all(not np.isnan(r["hidden_loss"]) for r in rows) == (objective != "lm")


def test_input_only_steps_embed_just_the_tokens_the_batch_uses(tiny_models, corpus_file):
    """A 'hidden' step renumbers the batch to its own tokens: fewer rows, the same hidden-state loss."""
    from tokshift.hypernet.batch import used_vocabulary

    sample = sampled(load_model(str(tiny_models["llama-tied"]))[1])
    n = sample.n_special
    ids, words = used_vocabulary(torch.tensor([[0, n + 7, n + 5, n + 7]]), sample)
    assert ids.tolist() == [[0, n + 1, n, n + 1]] and words == [sample.tokens[n + 5], sample.tokens[n + 7]]

    losses = {}
    for used_only in (True, False):
        model, tok = load_model(str(tiny_models["llama-tied"]))
        docs = {"de": read_corpus(corpus_file, split="train", lang="de").column("text").to_pylist()}
        trainer = Trainer(from_dict(TrainConfig, {"steps": 1, "batch_size": 2, "seq_len": 16, "langs": ["de"],
                                                  "objective": "hidden", "model": {"n_layers": 1, "hidden": 16,
                                                                                   "n_heads": 2}}, "hypernet"),
                          model, tok, docs)
        trainer.batches.maker.used_only = lambda step, flag=used_only: flag
        batch = trainer.batches.maker.make(0)
        trainer.batches.maker.make = lambda step, b=batch: b
        losses[used_only] = (trainer.lm_step(torch.Generator().manual_seed(0))["hidden_loss"], len(batch.pieces))
    assert losses[True][1] < losses[False][1]
    assert losses[True][0] == pytest.approx(losses[False][0], rel=1e-5)
