"""A large vocabulary that extends the base one: BPE training continued from the base tokenizer.

The corpus is split into the base tokenizer's pretokens, each spelled with base tokens; BPE merges
then go on from there (the same merge loop as dynamic tokenization, over distinct pretokens and their
counts), so every base token stays and each new token is a run of base tokens inside one pretoken,
at most `max_pieces` long (what the hypernetwork can embed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tokenizers import Tokenizer
from tqdm import tqdm

from tokshift.dynamic import MergeConfig, base_encode, bpe, specials, token_string, units


def pretoken_counts(texts: Iterable[str], base: Tokenizer, batch: int = 512) -> Counter:
    """Counts of the corpus's pretokens as tuples of base ids (specials and one-token pretokens left out)."""
    special = specials(base)
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
