"""A hypernetwork applied to a target tokenizer: a row for every id, special tokens copied from the base."""

from __future__ import annotations

import torch
from transformers import AutoTokenizer

from tokshift.hypernet.predict import tokenizer_matrices
from tokshift.model.embeddings import embedding_matrices
from tokshift.tokenization.specials import special_map


def test_every_target_id_gets_a_row_and_specials_copy_the_base(tiny, tokenizers_dir):
    model, tok, hyper = tiny
    target = AutoTokenizer.from_pretrained(tokenizers_dir / "ja-unigram-400")
    mats, info = tokenizer_matrices(hyper, target, tok)
    assert set(mats) == {"input"} and mats["input"].shape == (len(target), model.config.hidden_size)
    base = embedding_matrices(model)["input"]
    specials = special_map(target, tok)
    assert specials and all(torch.equal(mats["input"][t], base[b]) for t, b in specials.items())
    assert set(info) == {"truncated", "unknown", "mean_pieces"} and info["mean_pieces"] >= 1
    again, _ = tokenizer_matrices(hyper, target, tok, batch_tokens=64)
    torch.testing.assert_close(again["input"], mats["input"], atol=1e-5, rtol=1e-4)
