"""A large vocabulary grows from the base one and encodes by longest match inside pretokens."""

from __future__ import annotations

import pytest

from tokshift.large_vocab.vocabulary import extend_vocabulary, pretoken_counts
from tokshift.tokenization.spelling import token_string


def test_pretoken_counts_skip_specials_and_single_tokens(base):
    counts = pretoken_counts(["Haushalt Haushalt<|endoftext|>a", "Haushalt"], base, batch=1)
    spelled = base.encode(" Haushalt", add_special_tokens=False).ids
    assert counts[tuple(spelled)] == 1 and counts[tuple(base.encode("Haushalt").ids)] == 2
    assert all(len(k) > 1 for k in counts)
    assert not any(i in k for k in counts for i in (0, 1, 2)), "special tokens never join a pretoken"


def test_extended_vocabulary_keeps_growing_from_the_base(base):
    texts = ["Der Haushalt plant den Haushaltsplan. Haushalt und Garten."] * 5 + ["Gartenhaus"] * 3
    counts = pretoken_counts(texts, base)
    size = base.get_vocab_size() + 12
    new = extend_vocabulary(counts, base, size, max_pieces=8)
    strings = [token_string(t, base) for t in new]
    assert len(new) == 12 and len(set(strings)) == 12
    assert not set(strings) & set(base.get_vocab()), "new tokens only"
    assert all(len(t) <= 8 for t in new)
    everything = extend_vocabulary(counts, base, base.get_vocab_size() + 10_000, max_pieces=32)
    assert "ĠHaushalt" in {token_string(t, base) for t in everything} and len(everything) < 10_000
    with pytest.raises(ValueError, match="must exceed the base vocabulary"):
        extend_vocabulary(counts, base, 10)
