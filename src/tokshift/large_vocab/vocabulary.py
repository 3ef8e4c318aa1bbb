"""A large vocabulary that extends the base one: BPE training continued from the base tokenizer, and its encoder.

The corpus is split into the base tokenizer's pretokens, each spelled with base tokens; BPE merges
then go on from there (the same merge loop as dynamic tokenization, over distinct pretokens and their
counts), so every base token stays and each new token is a run of base tokens inside one pretoken,
at most `max_pieces` long (what the hypernetwork can embed). `LargeVocab` encodes text with it:
longest match inside each base pretoken (every byte is a base token, so this always succeeds).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer
from tqdm import tqdm
from transformers import PreTrainedModel

from tokshift.core.errors import InputError
from tokshift.core.tensors import load_tensors
from tokshift.dynamic.merge import MergeConfig, base_encode, bpe, units
from tokshift.model.embeddings import scaled
from tokshift.tokenization.specials import special_ids
from tokshift.tokenization.spelling import token_bytes, token_string


def pretoken_counts(texts: Iterable[str], base: Tokenizer, batch: int = 512) -> Counter:
    """Counts of the corpus's pretokens as tuples of base ids (specials and one-token pretokens left out)."""
    special = special_ids(base)
    counts: Counter = Counter()
    chunk: list[str] = []

    def flush() -> None:
        for text, enc in zip(chunk, base_encode(chunk, base), strict=True):
            counts.update(tuple(u) for u in units(text, enc.ids, enc.word_ids, enc.offsets, special, "pretoken")
                          if len(u) > 1)
        chunk.clear()

    for text in tqdm(texts, desc="pretokens", unit="doc", disable=None):
        chunk.append(text)
        if len(chunk) == batch:
            flush()
    if chunk:
        flush()
    return counts


def extend_vocabulary(counts: Counter, base: Tokenizer, size: int, max_pieces: int = 16,
                      min_count: int = 2) -> list[tuple[int, ...]]:
    """New tokens (tuples of base ids, in merge order) until base + new has `size` entries, or fewer if the
    corpus runs out of pairs seen >= min_count times."""
    base_size = base.get_vocab_size(with_added_tokens=True)
    if size <= base_size:
        raise ValueError(f"vocabulary size {size} must exceed the base vocabulary ({base_size} tokens)")
    known = set(base.get_vocab(with_added_tokens=True))
    words = [[(t,) for t in unit] for unit in counts]
    freq = list(counts.values())
    new: list[tuple[int, ...]] = []
    seen: set[str] = set()
    budget = size - base_size
    while len(new) < size - base_size:
        merges = bpe(words, freq, MergeConfig(budget=budget, max_pieces=max_pieces, min_count=min_count))
        for a, b in merges:
            tok = a + b
            key = token_string(tok, base)
            if key not in known and key not in seen:  # a run of base tokens can spell an existing token
                seen.add(key)
                new.append(tok)
        if len(merges) < budget:
            break  # no pair left
        budget = size - base_size - len(new)
    return new[:size - base_size]


@dataclass
class LargeVocab:
    base: Tokenizer
    extra: list[tuple[int, ...]]
    """Extra tokens after the base vocabulary, as runs of base ids."""
    extra_input: torch.Tensor
    """[len(extra), d] input embeddings of the extra tokens."""

    def __post_init__(self) -> None:
        self.base_size = self.base.get_vocab_size(with_added_tokens=True)
        self.lookup = dict(self.base.get_vocab(with_added_tokens=True))  # byte-level string -> id
        for i, tok in enumerate(self.extra):
            self.lookup.setdefault(token_string(tok, self.base), self.base_size + i)
        self.max_chars = max(len(s) for s in self.lookup)
        self.special = special_ids(self.base)

    @classmethod
    def load(cls, base: Tokenizer, tokens: list, shards: list[Path]) -> LargeVocab:
        rows = [load_tensors(p, "rebuild it (`dvc repro vocab_index`)")["input"] for p in shards]
        extra_input = torch.cat(rows) if rows else torch.empty(0)
        return cls(base, [tuple(t) for t in tokens], extra_input)

    def __len__(self) -> int:
        return self.base_size + len(self.extra)

    def encode(self, text: str) -> list[int]:
        """Large-vocabulary ids of `text`: longest match inside each base pretoken."""
        enc = base_encode([text], self.base)[0]
        out = []
        for unit in units(text, enc.ids, enc.word_ids, enc.offsets, self.special, "pretoken"):
            piece = token_string(tuple(unit), self.base)
            pos = 0
            while pos < len(piece):
                for end in range(min(len(piece), pos + self.max_chars), pos, -1):
                    tid = self.lookup.get(piece[pos:end])
                    if tid is not None:
                        out.append(tid)
                        pos = end
                        break
                else:  # not reachable with a byte-level base; kept as a clear failure
                    raise InputError(f"no vocabulary entry spells {piece[pos:pos + 10]!r}")
        return out

    def token_bytes(self, tid: int) -> bytes:
        return token_bytes((tid,) if tid < self.base_size else self.extra[tid - self.base_size], self.base)

    def input_rows(self, model: PreTrainedModel, ids: list[int]) -> torch.Tensor:
        table = model.get_input_embeddings().weight
        rows = [table[i] if i < self.base_size else self.extra_input[i - self.base_size].to(table)
                for i in ids]
        return scaled(model, torch.stack(rows))
