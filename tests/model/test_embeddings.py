"""Embedding matrices by role: input, output when untied, bias when the head has one."""

from __future__ import annotations

import json

from tokshift.model.base import load_model
from tokshift.model.embeddings import embedding_matrices


def test_embedding_matrices_shapes(tiny_models):
    model, _ = load_model(str(tiny_models["neox-untied"]))
    assert {k: tuple(v.shape) for k, v in embedding_matrices(model).items()} == {"input": (400, 32),
                                                                              "output": (400, 32)}
    meta = json.loads((tiny_models["neox-untied"] / "config.json").read_text())
    assert meta["tie_word_embeddings"] is False
