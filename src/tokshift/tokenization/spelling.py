"""How a token is spelled: in the base tokenizer's pieces, as one byte-level string, or as its bytes.

Every method that relates a new token to the base model (FVT, the hypernetwork, dynamic tokens, the
large vocabulary) starts from one of these spellings. A byte-level tokenizer writes each byte as one
printable character (GPT-2's table), so a byte-level token string is already in the base's alphabet,
even when it holds part of a UTF-8 character. Leaves out: padding pieces into tensors (pieces.py).
"""

from __future__ import annotations

import json
from functools import cache

from tokenizers import Tokenizer


def is_byte_level(tok: Tokenizer) -> bool:
    """True when the tokenizer pre-tokenizes into GPT-2-style byte characters."""
    return "ByteLevel" in json.dumps(json.loads(tok.to_str()).get("pre_tokenizer"))


def decompose(token: str, target: Tokenizer, base: Tokenizer, same_bytes: bool) -> list[int]:
    """Base-token ids spelling `token`: e.g. 'Ġschönsten' -> ids of ['Ġsch', 'ön', 'sten'] (same byte alphabet)."""
    if same_bytes:
        # Both byte-level: the token string is already in the base alphabet, even for partial UTF-8.
        return [t.id for t in base.model.tokenize(token)]
    surface = target.decoder.decode([token]) if target.decoder else token
    return base.encode(surface, add_special_tokens=False).ids


@cache
def _byte_of_char() -> dict[str, int]:
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    return {c: b for b, c in bytes_to_unicode().items()}


def token_string(token: tuple[int, ...], base: Tokenizer) -> str:
    """A run of base ids as one byte-level string (e.g. 'Ġsch' + 'ön' -> 'Ġschön')."""
    return "".join(base.id_to_token(t) for t in token)


def token_bytes(token: tuple[int, ...], base: Tokenizer) -> bytes:
    """The exact bytes of a run of byte-level base ids; added tokens give their text."""
    to_byte, added = _byte_of_char(), base.get_added_tokens_decoder()
    out = bytearray()
    for t in token:
        piece = base.id_to_token(t)
        out += piece.encode("utf-8") if t in added else bytes(to_byte[c] for c in piece)
    return bytes(out)
