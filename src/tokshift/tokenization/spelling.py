"""How a token is spelled: in the base tokenizer's pieces, as one byte-level string, or as its bytes.

Every method that relates a new token to the base model (FVT, the hypernetwork, dynamic tokens, the
large vocabulary) starts from one of these spellings. Two tokenizers share an alphabet when both are
byte-level (each byte one printable character, GPT-2's table: a token string is already in the base's
alphabet, even when it holds part of a UTF-8 character) or both are SentencePiece-style (Metaspace:
'▁' marks a word start). Then a token string is spelled by the base model's own segmentation
(`base.model.tokenize`); otherwise it is decoded to text and encoded by the base.
Characters a SentencePiece base cannot spell: with byte fallback (Llama-2, Gemma) they become byte
pieces <0xNN>; without (XLM-R) they become <unk>, which is dropped from a spelling that has other
pieces, so only a token made of nothing but unknown characters is spelled as <unk>.
Leaves out: padding pieces into tensors (pieces.py).
"""

from __future__ import annotations

import json
from functools import cache, lru_cache

from tokenizers import Tokenizer

from tokshift.core.errors import TokshiftError


def is_byte_level(tok: Tokenizer) -> bool:
    """True when the tokenizer pre-tokenizes into GPT-2-style byte characters."""
    # The pre-tokenizer's own JSON: serialising the whole tokenizer costs seconds for a 250k vocabulary.
    return tok.pre_tokenizer is not None and b"ByteLevel" in tok.pre_tokenizer.__getstate__()


@lru_cache(maxsize=16)
def metaspace(tok: Tokenizer) -> str | None:
    """The word-start marker of a SentencePiece-style (Metaspace) tokenizer ('▁'), or None."""
    if tok.pre_tokenizer is None:
        return None
    found = _find(json.loads(tok.pre_tokenizer.__getstate__()), "Metaspace")
    return found.get("replacement", "▁") if found else None


def _find(node, kind: str) -> dict | None:
    """The first component of type `kind` in a (possibly nested Sequence) pre-tokenizer JSON."""
    if isinstance(node, dict):
        if node.get("type") == kind:
            return node
        node = node.get("pretokenizers")
    for child in node or []:
        if (found := _find(child, kind)) is not None:
            return found
    return None


def same_alphabet(target: Tokenizer, base: Tokenizer) -> bool:
    """True when target token strings are already in the base's alphabet (both byte-level, or both Metaspace
    with the same marker): they are spelled by the base model's segmentation directly."""
    if is_byte_level(target) and is_byte_level(base):
        return True
    return metaspace(base) is not None and metaspace(target) == metaspace(base)


def decompose(token: str, target: Tokenizer, base: Tokenizer, same_bytes: bool) -> list[int]:
    """Base-token ids spelling `token`: e.g. 'Ġschönsten' -> ids of ['Ġsch', 'ön', 'sten'] (`same_bytes`: the two
    share an alphabet, same_alphabet); '▁Hausaufgaben' -> ids of ['▁Haus', 'aufgaben'] for two Metaspace ones."""
    if same_bytes:
        # The token string is already in the base alphabet (even partial UTF-8, or a '▁' word start).
        return _drop_unknown([t.id for t in base.model.tokenize(token)], base)
    marker = metaspace(target)
    surface = (token.replace(marker, " ") if marker else target.decoder.decode([token]) if target.decoder
               else token)
    base_marker = metaspace(base)
    if base_marker is None:
        return base.encode(surface, add_special_tokens=False).ids
    # A SentencePiece base: its normaliser, then spaces as word starts, without the prefix added to whole texts.
    text = base.normalizer.normalize_str(surface) if base.normalizer else surface
    return _drop_unknown([t.id for t in base.model.tokenize(text.replace(" ", base_marker))], base)


def _drop_unknown(ids: list[int], base: Tokenizer) -> list[int]:
    """Drop <unk> from a spelling that has other pieces (a base without byte fallback cannot spell a character)."""
    unk = unknown_id(base)
    kept = [i for i in ids if i != unk]
    return kept if kept else ids


@lru_cache(maxsize=16)
def _model(tok: Tokenizer) -> dict:
    """The tokenizer's model JSON without its vocabulary and merges (read once per tokenizer)."""
    model = json.loads(tok.to_str())["model"]
    return {k: v for k, v in model.items() if k not in ("vocab", "merges")}


def unknown_id(tok: Tokenizer) -> int | None:
    """The id of the model's unknown token (Unigram: unk_id; BPE/WordPiece: unk_token), or None."""
    model = _model(tok)
    if model.get("type") == "Unigram":
        return model.get("unk_id")
    return tok.token_to_id(model["unk_token"]) if model.get("unk_token") else None


class SpellingError(TokshiftError, ValueError):
    """A target tokenizer whose tokens the base tokenizer cannot spell."""


def check_spellable(target: Tokenizer, base: Tokenizer, where: str) -> None:
    """Refuse a byte-level target on a base that is neither byte-level nor has byte fallback: its tokens that hold
    part of a character have no spelling in the base's pieces."""
    if is_byte_level(target) and not is_byte_level(base) and not _model(base).get("byte_fallback"):
        raise SpellingError(f"{where}: a byte-level tokenizer, but the base model's tokenizer spells text in "
                            f"SentencePiece pieces without byte fallback, so tokens holding part of a character "
                            f"cannot be spelled; train the target with its convention (e.g. convention: xlm-r)")


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
