"""Bits per byte: windows score every token once, and the scorer matches a plain forward pass."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tests.helpers import make_text
from tokshift.model.base import load_model
from tokshift.model.score import ScoreConfig, score_texts, windows


def reference_bits(model, tokenizer, text: str) -> float:
    """One unbatched forward over the whole document, no windows."""
    ids = torch.tensor([[tokenizer.eos_token_id, *tokenizer(text, add_special_tokens=False)["input_ids"]]])
    with torch.no_grad():
        logits = model(ids).logits
    return F.cross_entropy(logits[0, :-1], ids[0, 1:], reduction="sum").item() / math.log(2)


@pytest.mark.parametrize("n, window, stride", [(10, 4, 3), (10, 4, 1), (3, 8, 4), (100, 16, 12), (17, 17, 9)])
def test_windows_score_every_token_once_with_context(n, window, stride):
    ids = list(range(n))
    scored = []
    for i, (win, k) in enumerate(windows(ids, window, stride)):
        assert len(win) <= window and 1 <= k <= len(win) - (1 if i == 0 else 0)
        scored += win[len(win) - k:]
        if i > 0:
            assert len(win) - k >= min(window - stride, win[0] + len(win) - k)  # context before scored tokens
    assert scored == ids[1:]


def test_score_matches_a_plain_forward(tiny_models):
    model, tok = load_model(str(tiny_models["llama-tied"]))
    texts = [make_text("de", 3, i) for i in range(5)]
    got = score_texts(model, tok, texts, ScoreConfig(window=4096, stride=2048, batch_tokens=8192))
    expected = sum(reference_bits(model, tok, t) for t in texts)
    assert got.nll_bits == pytest.approx(expected, rel=1e-4)
    assert got.n_bytes == sum(len(t.encode()) for t in texts)
    assert got.bpb == pytest.approx(expected / got.n_bytes, rel=1e-4)
    # each text's own bits, in input order: what the per-chunk scores and their intervals are made of
    assert got.doc_bits == pytest.approx([reference_bits(model, tok, t) for t in texts], rel=1e-4)
    assert got.doc_tokens == [len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts]


def test_batching_and_padding_change_nothing(tiny_models):
    model, tok = load_model(str(tiny_models["neox-untied"]))
    texts = [make_text("ru", n, n) for n in (1, 2, 5, 9)]
    cfg_batched = ScoreConfig(window=32, stride=24, batch_tokens=32 * 8)
    one_by_one = sum(score_texts(model, tok, [t], ScoreConfig(window=32, stride=24, batch_tokens=32)).nll_bits
                     for t in texts)
    batched = score_texts(model, tok, texts, cfg_batched)
    assert batched.nll_bits == pytest.approx(one_by_one, rel=1e-4)
    # texts of several windows, sorted into batches by length, still add up per text
    assert batched.doc_bits == pytest.approx([score_texts(model, tok, [t], ScoreConfig(window=32, stride=24))
                                              .nll_bits for t in texts], rel=1e-4)
