"""Spelling a token: in base pieces, as a byte-level string, as its exact bytes."""

from __future__ import annotations

import json

from tokenizers import Tokenizer

from tokshift.tokenization.spelling import decompose, is_byte_level, token_bytes, token_string


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
