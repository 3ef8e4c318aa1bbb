"""Spelling a token: in base pieces, as a byte-level string, as its exact bytes."""

from __future__ import annotations

import json

from tokenizers import Tokenizer

from tokshift.tokenization.spelling import decompose, is_byte_level, same_alphabet, token_bytes, token_string


def test_byte_level_detection(base):
    assert is_byte_level(base)
    spec = json.loads(base.to_str())
    spec["pre_tokenizer"] = {"type": "Whitespace"}
    assert not is_byte_level(Tokenizer.from_str(json.dumps(spec)))


def test_pieces_strings_and_bytes_spell_the_same_text(base):
    text = "Die schönen Straßen 日本 👍🏽"
    ids = base.encode(text, add_special_tokens=False).ids
    assert token_bytes(tuple(ids), base) == text.encode("utf-8")
    whole = token_string(tuple(ids), base)
    assert whole == "".join(base.id_to_token(i) for i in ids)
    assert token_bytes(tuple(decompose(whole, base, base, same_bytes=True)), base) == text.encode("utf-8")


def test_added_tokens_give_their_text(base):
    assert token_bytes((base.token_to_id("<|im_end|>"),), base) == b"<|im_end|>"


def sentencepiece(pieces: list[str], byte_fallback: bool) -> Tokenizer:
    """A tiny SentencePiece-style Unigram (Metaspace, '▁' word starts), with or without byte fallback."""
    from tokenizers import models, pre_tokenizers

    vocab = [("<unk>", 0.0)] + [(p, -float(len(p))) for p in pieces]
    if byte_fallback:
        vocab += [(f"<0x{b:02X}>", -20.0) for b in range(256)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=0, byte_fallback=byte_fallback))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    return tok


PIECES = ["▁Haus", "▁", "aufgaben", "auf", "gaben", "H", "a", "u", "s"]


def test_sentencepiece_target_on_sentencepiece_base_keeps_word_starts():
    base = sentencepiece(PIECES, byte_fallback=False)
    target = sentencepiece(["▁Hausaufgaben", "aufgaben"], byte_fallback=False)
    spell = [[base.id_to_token(i) for i in decompose(t, target, base, same_bytes=True)]
             for t in ("▁Hausaufgaben", "aufgaben")]
    assert spell == [["▁Haus", "aufgaben"], ["aufgaben"]]  # a word-internal token never gets '▁' pieces


def test_characters_a_base_without_byte_fallback_cannot_spell_are_dropped_or_unk():
    base = sentencepiece(PIECES, byte_fallback=False)
    target = sentencepiece(["▁Haus€"], byte_fallback=False)
    assert [base.id_to_token(i) for i in decompose("▁Haus€", target, base, same_bytes=True)] == ["▁Haus"]
    assert [base.id_to_token(i) for i in decompose("€", target, base, same_bytes=True)] == ["<unk>"]


def test_a_byte_fallback_base_spells_unknown_characters_as_bytes():
    base = sentencepiece(PIECES, byte_fallback=True)
    target = sentencepiece(["▁Haus€"], byte_fallback=False)
    assert [base.id_to_token(i) for i in decompose("▁Haus€", target, base, same_bytes=True)] == [
        "▁Haus", "<0xE2>", "<0x82>", "<0xAC>"]


def test_byte_level_target_on_sentencepiece_base_goes_through_text(base):
    sp = sentencepiece(PIECES, byte_fallback=False)
    assert not same_alphabet(base, sp)
    ids = decompose("ĠHausaufgaben", base, sp, same_bytes=False)  # byte-level 'Ġ' is a space: a word start
    assert [sp.id_to_token(i) for i in ids] == ["▁Haus", "aufgaben"]


def test_same_alphabet_needs_the_same_convention(base):
    sp = sentencepiece(PIECES, byte_fallback=False)
    assert same_alphabet(base, base) and same_alphabet(sp, sp)
    assert not same_alphabet(sp, base)
