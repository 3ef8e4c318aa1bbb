"""ByteBPE: token bytes, BPE on raw bytes, and canonical pairs, checked against the `tokenizers` library."""

import itertools
import json

import pytest
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from tests.bytelevel.tiny import TEXT, tiny_tokenizer
from tokshift.bytelevel.bpe import ByteBPE, BytesError, byte_alphabet


def hf_pure_bpe(tok: Tokenizer, data: bytes) -> tuple[int, ...]:
    """The library's own BPE model on bytes (no pre-tokenizer), as a reference."""
    chars = {b: c for c, b in byte_alphabet().items()}
    return tuple(t.id for t in tok.model.tokenize("".join(chars[b] for b in data)))


def test_token_bytes_spell_the_text(regex):
    tok, bpe, _ = regex
    ids = tok.encode("the theatre").ids
    assert b"".join(bpe.bytes[i] for i in ids) == b"the theatre"


def test_encode_matches_the_library_per_pretoken(regex):
    tok, bpe, _ = regex
    for text in [*TEXT, "theta hatter\u00e9 \u65e5\u672c 12345  x"]:
        data, starts = text.encode(), bpe.pretoken_starts(text)
        ours = [i for s, e in zip(starts, [*starts[1:], len(data)], strict=True) for i in bpe.encode(data[s:e])]
        assert ours == tok.encode(text).ids


def test_encode_of_bytes_inside_a_character_matches_the_library(plain):
    tok, bpe, _ = plain
    data = "the \u00e9t\u00e9".encode()
    for cut in range(1, len(data) + 1):
        assert bpe.encode(data[:cut]) == hf_pure_bpe(tok, data[:cut])


def test_canonical_pairs_match_brute_force_on_every_pair(plain):
    tok, bpe, _ = plain
    letters = set("".join(TEXT).encode())  # bytes that take part in merges, and every merged token
    tokens = [t for t in range(bpe.size) if bpe.self_canonical()[t] and (len(bpe.bytes[t]) > 1 or
                                                                          bpe.bytes[t][0] in letters)]
    checked = 0
    for a, t in itertools.product(tokens, tokens):
        truth = hf_pure_bpe(tok, bpe.bytes[a] + bpe.bytes[t]) != (a, t)
        assert bpe.invalid_after(a)[t] == truth, (bpe.bytes[a], bpe.bytes[t])
        checked += truth
    assert checked > 50  # the test tokenizer does have pairs that merge across


def test_tokens_with_a_prefix():
    tok = tiny_tokenizer(use_regex=True)
    bpe = ByteBPE(tok)
    found = {bpe.bytes[i] for i in bpe.with_prefix(b"th")}
    assert found == {b for b in bpe.bytes if b is not None and b.startswith(b"th")}
    assert b"th" in found and len(found) > 1
    assert len(bpe.with_prefix(b"qqq")) == 0


def test_self_canonical_excludes_specials():
    tok = tiny_tokenizer(use_regex=True)
    bpe = ByteBPE(tok)
    assert not bpe.self_canonical()[tok.token_to_id("<|endoftext|>")]
    assert bpe.self_canonical()[tok.token_to_id("the")]


def unigram() -> Tokenizer:
    tok = Tokenizer(models.Unigram([("a", -1.0), ("b", -2.0)], 0, byte_fallback=False))
    return tok


@pytest.mark.parametrize("make, words", [
    (unigram, "a Unigram tokenizer"),
    (lambda: Tokenizer(models.BPE(vocab={"a": 0, "b": 1}, merges=[])), "without a ByteLevel pre-tokenizer"),
])
def test_unsupported_tokenizers_are_refused_in_one_line(make, words):
    with pytest.raises(BytesError, match=words) as err:
        ByteBPE(make(), "tok")
    assert "\n" not in str(err.value) and str(err.value).startswith("tok: ")


def test_a_normalizing_tokenizer_is_refused():
    tok = tiny_tokenizer(use_regex=True)
    tok.normalizer = normalizers.Lowercase()
    with pytest.raises(BytesError, match="normalizes text"):
        ByteBPE(tok, "lower")


def test_ignore_merges_is_refused():
    tok = tiny_tokenizer(use_regex=True)
    spec = json.loads(tok.to_str())
    spec["model"]["ignore_merges"] = True
    with pytest.raises(BytesError, match="ignore_merges"):
        ByteBPE(Tokenizer.from_str(json.dumps(spec)))


def test_pretoken_starts_are_byte_offsets():
    bpe = ByteBPE(tiny_tokenizer(use_regex=True))
    text = "\u00e9t\u00e9 the cat"
    assert bpe.pretoken_starts(text) == [0, len("\u00e9t\u00e9".encode()), len("\u00e9t\u00e9 the".encode())]
    assert bpe.outcome[bpe.byte_id[ord("t")]] == ord("t")


def test_a_tokenizer_that_adds_a_prefix_space_is_refused():
    tok = tiny_tokenizer(use_regex=True)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    with pytest.raises(BytesError, match="adds a space before the text") as err:
        ByteBPE(tok, "spaced")
    assert str(err.value).startswith("spaced: ")


def test_another_pre_tokenizer_is_refused():
    tok = tiny_tokenizer(use_regex=True)
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False)])
    with pytest.raises(BytesError, match="pre-tokenizer Digits is not supported"):
        ByteBPE(tok, "digits")
