"""Tokens spelled in base pieces: truncation counted, empty and unspellable tokens handled."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer, models

from tokshift.model.base import load_model
from tokshift.tokenization.pieces import DecompositionError, decompose_tokens, pad_pieces


def test_truncation_is_counted():
    pieces = pad_pieces([[5], [7, 8, 9], [1, 2]], 2)
    assert pieces.ids.tolist() == [[5, -1], [7, 8], [1, 2]]
    assert pieces.lengths.tolist() == [1, 2, 2] and pieces.truncated == 1


def test_empty_and_unspellable_tokens(tiny_models):
    _, base = load_model(str(tiny_models["bert-mlm"]))
    base_tok = base.backend_tokenizer
    word = Tokenizer(models.WordLevel({"[UNK]": 0, "abc": 1, "": 2}, unk_token="[UNK]"))
    with pytest.raises(DecompositionError, match="empty-string token"):
        decompose_tokens(["abc", ""], word, base_tok, 7)
    # A base without the character: an error that names the tokens, or the mean embedding, counted.
    wordlevel_base = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    with pytest.raises(DecompositionError, match="cannot be spelled"):
        decompose_tokens(["a", "☃"], word, wordlevel_base, 7, unknown="error")
    pieces = decompose_tokens(["a", "☃"], word, wordlevel_base, 7)
    assert pieces.unknown == 1 and pieces.mean_rows.tolist() == [False, True]
    assert decompose_tokens(["a", "☃"], word, wordlevel_base, 7, unknown="unk").ids[1, 0] == 0
