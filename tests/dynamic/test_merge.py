"""Dynamic tokenization: merges per batch that concatenate back to the text, in frequency order."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, pre_tokenizers

from tokshift.core.params import ParamsError
from tokshift.dynamic.merge import MergeConfig, dynamic_tokenize
from tokshift.tokenization.specials import special_ids
from tokshift.tokenization.spelling import token_bytes, token_string

# Any Unicode: emoji, combining marks, right-to-left, CJK, control characters, surrogates excluded.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)


PIECES = ["Haus", "haus", " Haus", "-", "ü", "👍🏽", "e\u0301", "שלום", "東京", "\x00", "\t", "\n\n", "  ",
          "state-of-the-art", "end.", "<|im_end|>", "<|endoftext|>"]


MIXED = st.lists(st.sampled_from(PIECES), max_size=20).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(ANY_TEXT, MIXED), min_size=1, max_size=4), budget=st.integers(0, 40),
       boundary=st.sampled_from(["pretoken", "word", "word_hyphen"]))
def test_dynamic_tokens_concatenate_back_to_the_text(base, texts, budget, boundary):
    cfg = MergeConfig(budget=budget, boundary=boundary, max_pieces=5, min_count=1)
    batch = dynamic_tokenize(texts, base, cfg)
    special = special_ids(base)
    for text, tokens in zip(texts, batch.tokens, strict=True):
        assert b"".join(token_bytes(t, base) for t in tokens) == text.encode("utf-8")
        assert all(1 <= len(t) <= 5 for t in tokens)
        assert all(len(t) == 1 for t in tokens if special & set(t)), "special tokens are never merged"
    assert batch.merges <= budget


def test_budget_zero_is_the_base_tokenization(base):
    texts = ["Das Haus ist schön.", "Ein schönes Haus<|endoftext|>"]
    batch = dynamic_tokenize(texts, base, MergeConfig(budget=0))
    assert batch.tokens == [[(i,) for i in base.encode(t, add_special_tokens=False).ids] for t in texts]
    assert batch.reduction == 0.0 and batch.merges == 0


def test_the_most_frequent_pair_merges_first_and_everywhere(base):
    texts = ["Haushalt Haushalt Haushalt Garten", "Haushalt Garten"]
    enc = base.encode("Haushalt", add_special_tokens=False)
    assert len(enc.ids) >= 2, "the tiny base must split the word for this test"
    one = dynamic_tokenize(texts, base, MergeConfig(budget=1))
    first = next(t for t in one.tokens[0] if len(t) == 2)
    assert all(token_string(first, base) in "".join(token_string(t, base) for t in row) for row in one.tokens)
    full = dynamic_tokenize(texts, base, MergeConfig(budget=100))
    assert token_string(full.tokens[0][0], base) == "Haushalt"
    assert full.tokens[0][0] == full.tokens[1][0], "the same word gets the same dynamic token in every text"


def test_min_count_keeps_pairs_seen_once(base):
    batch = dynamic_tokenize(["Zwischenüberschrift"], base, MergeConfig(budget=100, min_count=2))
    assert batch.merges == 0


@pytest.mark.parametrize("boundary,merged,apart", [
    ("pretoken", ["Ġstate"], ["Ġstate-"]),
    ("word", ["Ġstate-of-the-art", "Ġend."], ["Ġend.Ġ"]),
    ("word_hyphen", ["Ġstate-of-the-art", "Ġend"], ["Ġend."]),
])
def test_boundary_modes(base, boundary, merged, apart):
    texts = [" state-of-the-art end. " * 3]
    batch = dynamic_tokenize(texts, base, MergeConfig(budget=1000, boundary=boundary))
    strings = {token_string(t, base) for t in batch.tokens[0]}
    assert set(merged) <= strings
    assert not any(a in s for a in apart for s in strings)


def test_target_reduction_stops_early(base):
    texts = ["Das Haus am See ist ein schönes Haus am See."] * 4
    full = dynamic_tokenize(texts, base, MergeConfig(budget=1000))
    part = dynamic_tokenize(texts, base, MergeConfig(budget=1000, target_reduction=0.2))
    assert 0.2 <= part.reduction < full.reduction and part.merges < full.merges


def test_bad_input(base):
    with pytest.raises(ValueError, match="at least one text"):
        dynamic_tokenize([], base, MergeConfig())
    with pytest.raises(ParamsError, match="budget"):
        MergeConfig(budget=-1)
    with pytest.raises(ParamsError, match="boundary"):
        MergeConfig(boundary="sentence")
    wordpiece = Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    wordpiece.pre_tokenizer = pre_tokenizers.Whitespace()
    with pytest.raises(ValueError, match="byte-level"):
        dynamic_tokenize(["a a"], wordpiece, MergeConfig())
    # Whitespace and control characters only: handled, still exact.
    batch = dynamic_tokenize([" \t\n\x00 ", ""], base, MergeConfig(min_count=1))
    assert b"".join(token_bytes(t, base) for t in batch.tokens[0]) == b" \t\n\x00 " and batch.tokens[1] == []


def test_sentencepiece_base_merges_inside_words_and_never_merges_unknowns(tiny_e5):
    from transformers import AutoTokenizer

    base = AutoTokenizer.from_pretrained(tiny_e5["folder"]).backend_tokenizer
    texts = ["einschung derverber einschung", "einschung € derverber", "gensteauf derverber einschung"]
    batch = dynamic_tokenize(texts, base, MergeConfig(budget=1000, min_count=1))
    assert batch.reduction > 0.3 and batch.merges > 0
    unk = base.token_to_id("<unk>")
    for text, tokens in zip(texts, batch.tokens, strict=True):
        pieces = ["".join(base.id_to_token(i) for i in tok) for tok in tokens]
        assert "".join(pieces).replace("▁", " ").strip().replace("<unk>", "€") == text  # concatenates to the text
        assert all(p.count("▁") <= 1 and (p.startswith("▁") or "▁" not in p) for p in pieces)  # one word each
        assert all(tok == (unk,) for tok in tokens if unk in tok)  # <unk> stays alone
