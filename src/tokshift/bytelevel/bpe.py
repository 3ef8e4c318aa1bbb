"""A byte-level BPE tokenizer seen as bytes: each token's bytes, BPE on raw bytes, and which token follows which.

The byte-level probabilities (covers.py) need three things the `tokenizers` API does not give for byte strings
that may end inside a UTF-8 character: the bytes of every token, the tokenizer's own encoding of a byte string
inside one pretoken (`encode`, the merges applied in rank order, leftmost first on ties, as `tokenizers` does),
and which tokens may follow a given token in an encoding the tokenizer itself produces ("canonical").
A pair (a, t) is canonical when BPE on bytes(a) + bytes(t) gives back [a, t]; it is not when some merge (l, r)
joins a token l on a's right edge with a token r on t's left edge while both are still unmerged: rank(l, r)
below the merge that absorbs l (strictly: that merge is further left) and at or below the one that absorbs r
(ties go to the leftmost pair). `invalid_after(a)` evaluates that for every t at once. Leaves out: Unigram and
WordPiece, SentencePiece byte fallback, normalizers, `ignore_merges`: refused with one line (BytesError).
"""

from __future__ import annotations

import bisect
import json
from functools import lru_cache

import numpy as np
from tokenizers import Tokenizer

from tokshift.core.errors import InputError

NEVER = np.iinfo(np.int64).max  # the death rank of a spine's top: never absorbed


class BytesError(InputError):
    """The tokenizer is not a byte-level BPE that byte-level probabilities support; the message says why."""


def byte_alphabet() -> dict[str, int]:
    """GPT-2's printable stand-in character for each byte value -> the byte (the ByteLevel pre-tokenizer's map)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[chr(b)] = b
        else:
            chars[chr(256 + extra)] = b
            extra += 1
    return chars


def uses_regex(spec: dict | None) -> bool:
    """Whether a ByteLevel pre-tokenizer with GPT-2's regex is in the spec (other Split patterns are refused)."""
    if not spec:
        return False
    if spec.get("type") == "Sequence":
        return any(uses_regex(s) for s in spec.get("pretokenizers", []))
    if spec.get("type") == "ByteLevel":
        if spec.get("add_prefix_space"):
            raise BytesError("its pre-tokenizer adds a space before the text, so its bytes are not the text's; "
                             "byte-level probabilities need add_prefix_space false")
        return bool(spec.get("use_regex", True))
    raise BytesError(f"pre-tokenizer {spec.get('type')} is not supported (byte-level probabilities know the "
                     f"ByteLevel pre-tokenizer, with or without GPT-2's regex)")


def has_byte_level(spec: dict | None) -> bool:
    if not spec:
        return False
    return spec.get("type") == "ByteLevel" or any(has_byte_level(s) for s in spec.get("pretokenizers", []))


class ByteBPE:
    """Token bytes, merges and canonical-pair tests of one byte-level BPE tokenizer (name used in errors)."""

    def __init__(self, tokenizer: Tokenizer, name: str = "tokenizer") -> None:
        spec = json.loads(tokenizer.to_str())
        model = spec["model"]
        if model["type"] != "BPE":
            raise BytesError(f"{name}: a {model['type']} tokenizer; byte-level probabilities need a byte-level BPE")
        if not has_byte_level(spec.get("pre_tokenizer")):
            raise BytesError(f"{name}: BPE without a ByteLevel pre-tokenizer (SentencePiece-style); byte-level "
                             f"probabilities need tokens that are byte strings")
        if spec.get("normalizer"):
            raise BytesError(f"{name}: the tokenizer normalizes text ({spec['normalizer'].get('type')}), so its "
                             f"tokens do not spell the text's bytes; byte-level probabilities need no normalizer")
        if model.get("ignore_merges"):
            raise BytesError(f"{name}: ignore_merges BPE (whole words looked up first) is not supported")
        self.name, self.tokenizer = name, tokenizer
        self.pre_tokenizer = tokenizer.pre_tokenizer
        try:
            self.splits_whitespace = uses_regex(spec.get("pre_tokenizer"))  # GPT-2's regex: runs of spaces split
        except BytesError as err:
            raise BytesError(f"{name}: {err}") from None
        alphabet = byte_alphabet()
        vocab: dict[str, int] = model["vocab"]
        self.size = max(tokenizer.get_vocab_size(with_added_tokens=True), max(vocab.values()) + 1)
        special = {a["id"] for a in spec.get("added_tokens", [])}
        self.bytes: list[bytes | None] = [None] * self.size  # token id -> its bytes (None: special / not bytes)
        for token, i in vocab.items():
            if i not in special and all(c in alphabet for c in token):
                self.bytes[i] = bytes(alphabet[c] for c in token)
        self.byte_id = {}
        for i, b in enumerate(self.bytes):
            if b is not None and len(b) == 1:
                self.byte_id.setdefault(b[0], i)
        if not self.byte_id:
            raise BytesError(f"{name}: no token is a single byte; byte-level probabilities need a byte-level BPE")
        self.rank: dict[tuple[int, int], int] = {}  # (left id, right id) -> merge rank
        self.merged: dict[tuple[int, int], int] = {}  # (left id, right id) -> merged id
        self.parts: dict[int, tuple[int, int, int]] = {}  # merged id -> (left, right, rank)
        for rank, merge in enumerate(model["merges"]):
            left, right = merge.split(" ") if isinstance(merge, str) else merge
            ids = vocab.get(left), vocab.get(right), vocab.get(left + right)
            if None in ids:
                raise BytesError(f"{name}: merge {rank} ({left!r}, {right!r}) names a token not in the vocabulary")
            self.rank.setdefault(ids[:2], rank)
            self.merged.setdefault(ids[:2], ids[2])
            self.parts.setdefault(ids[2], (ids[0], ids[1], rank))
        self.outcome = np.array([b[0] if b else 256 for b in self.bytes], dtype=np.int64)  # first byte; 256: special
        order = sorted((b, i) for i, b in enumerate(self.bytes) if b is not None)
        self.sorted_bytes = [b for b, _ in order]
        self.sorted_ids = np.array([i for _, i in order], dtype=np.int64)
        self.max_len = max(len(b) for b in self.sorted_bytes)
        self.table = np.full((self.size, self.max_len), -1, dtype=np.int16)  # token id, offset -> byte (-1: past end)
        for i, b in enumerate(self.bytes):
            if b is not None:
                self.table[i, :len(b)] = np.frombuffer(b, dtype=np.uint8)
        self.encode = lru_cache(maxsize=200_000)(self._encode)
        self._invalid: dict[int, np.ndarray] = {}
        self._allowed: dict[int, np.ndarray] = {}
        self._by_left_spine: dict[int, tuple[np.ndarray, np.ndarray]] | None = None
        self._self_canonical: np.ndarray | None = None

    def _encode(self, data: bytes) -> tuple[int, ...]:
        """The tokenizer's ids for `data` taken as one pretoken: merges in rank order, leftmost first on ties."""
        missing = [b for b in data if b not in self.byte_id]
        if missing:
            raise BytesError(f"{self.name}: byte 0x{missing[0]:02x} has no token in this vocabulary")
        ids = [self.byte_id[b] for b in data]
        while len(ids) > 1:
            best, at = None, -1
            for k in range(len(ids) - 1):
                r = self.rank.get((ids[k], ids[k + 1]))
                if r is not None and (best is None or r < best):
                    best, at = r, k
            if best is None:
                break
            ids[at:at + 2] = [self.merged[(ids[at], ids[at + 1])]]
        return tuple(ids)

    def with_prefix(self, prefix: bytes) -> np.ndarray:
        """Ids of the tokens whose bytes start with `prefix` (the token equal to it included)."""
        lo = bisect.bisect_left(self.sorted_bytes, prefix)
        hi = bisect.bisect_left(self.sorted_bytes, prefix + b"\xff" * (self.max_len + 1))
        return self.sorted_ids[lo:hi]

    def spine(self, token: int, side: int) -> list[tuple[int, int]]:
        """(sub-token, rank of the merge that absorbs it) down the left (side 0) or right (side 1) edge of `token`."""
        out, death = [], NEVER
        while True:
            out.append((token, death))
            if token not in self.parts:
                return out
            parts = self.parts[token]
            token, death = parts[side], parts[2]

    def self_canonical(self) -> np.ndarray:
        """Mask over ids: the token is the tokenizer's own encoding of its bytes (specials are False)."""
        if self._self_canonical is None:
            ok = np.zeros(self.size, dtype=bool)
            for i, b in enumerate(self.bytes):
                ok[i] = b is not None and self.encode(b) == (i,)
            self._self_canonical = ok
        return self._self_canonical

    def invalid_after(self, left: int) -> np.ndarray:
        """Mask over ids: t cannot follow `left` in a canonical encoding (a merge across the pair would fire)."""
        if left not in self._invalid:
            if self._by_left_spine is None:
                self._by_left_spine = self._left_spine_index()
            by_left: dict[int, list[tuple[int, int]]] = self._right_partners
            bad = np.zeros(self.size, dtype=bool)
            for l_tok, l_death in self.spine(left, 1):
                for r_tok, rank in by_left.get(l_tok, ()):
                    if rank < l_death and r_tok in self._by_left_spine:
                        tokens, deaths = self._by_left_spine[r_tok]
                        bad[tokens[deaths >= rank]] = True
            self._invalid[left] = bad
        return self._invalid[left]

    def allowed_after(self, left: int) -> np.ndarray:
        """Mask over ids: canonical tokens that may follow `left` inside one pretoken (cached)."""
        if left not in self._allowed:
            self._allowed[left] = self.self_canonical() & ~self.invalid_after(left)
        return self._allowed[left]

    def _left_spine_index(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Sub-token r -> (tokens with r on their left edge, rank absorbing r there)."""
        pairs: dict[int, list[tuple[int, int]]] = {}
        for t, b in enumerate(self.bytes):
            if b is not None:
                for r, death in self.spine(t, 0):
                    pairs.setdefault(r, []).append((t, death))
        self._right_partners: dict[int, list[tuple[int, int]]] = {}
        for (lt, rt), rank in self.rank.items():
            self._right_partners.setdefault(lt, []).append((rt, rank))
        return {r: (np.array([t for t, _ in v], dtype=np.int64), np.array([d for _, d in v], dtype=np.int64))
                for r, v in pairs.items()}

    def pretoken_starts(self, text: str) -> list[int]:
        """Byte offsets where the tokenizer's pre-tokenizer starts a pretoken in `text` (0 first)."""
        offsets = np.cumsum([0, *(len(c.encode("utf-8")) for c in text)])  # char offset -> byte offset
        return sorted({0, *(int(offsets[start]) for _, (start, _) in self.pre_tokenizer.pre_tokenize_str(text))})
