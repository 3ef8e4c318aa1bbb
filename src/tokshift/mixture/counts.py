"""Pair counts per category along a merge list, updated incrementally as each merge is applied in order.

Each category's words start as characters (bytes for byte-level tokenizers); merge t then joins every
adjacent (left, right) in every word, left to right, exactly as BPE training did. Only the words that hold
the merged pair are touched (an index pair -> words), and only the pairs of those words change, so step t
records a sparse delta instead of a recount. What the solver needs is kept as arrays:
`initial` [n_categories, n_pairs] counts before any merge, `steps[t]` = (pair ids [k], deltas
[n_categories, k]), `merged[t]` = the pair id merge t joined (-1: it occurs in no sample).
Counts are per million sample bytes, so categories with more sample text do not weigh more.
Leaves out: characters outside the vocabulary (a SentencePiece-style BPE's byte fallback) stay
unmergeable symbols.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from tqdm import tqdm

PER_BYTES = 1e6  # counts are scaled to "per million bytes" so LP coefficients are well above solver tolerances


@dataclass
class PairCounts:
    categories: list[str]
    """Category names, the rows of every count array."""
    pairs: list[tuple[int, int]]
    """Pair id -> (left, right) token ids."""
    initial: np.ndarray
    """[n_categories, n_pairs] counts per million sample bytes before the first merge (0 for later pairs)."""
    steps: list[tuple[np.ndarray, np.ndarray]]
    """Per merge t: the pair ids whose counts change [k] and the changes [n_categories, k]."""
    merged: np.ndarray
    """[T] pair id joined by merge t, or -1 where the pair occurs in no category's sample."""
    sample_bytes: np.ndarray
    """[n_categories] UTF-8 bytes of each category's sample."""
    seconds: float = 0.0
    """Wall time of the replay."""


def _symbols(word: str, vocab: dict[str, int], unknown: int) -> list[int]:
    return [vocab.get(ch, unknown) for ch in word]


def _occurrences(symbols: list[int], left: int, right: int) -> list[int]:
    """Start positions of (left, right) in `symbols`, left to right, not overlapping.

    Example: [1, 1, 1, 2, 1, 1], 1, 1 -> [0, 4].
    """
    found, i, last = [], 0, len(symbols) - 1
    try:
        while True:
            i = symbols.index(left, i)  # C-speed scan: long words (CJK runs) hold few occurrences
            if i < last and symbols[i + 1] == right:
                found.append(i)
                i += 2
            else:
                i += 1
    except ValueError:
        return found


def _joined(symbols: list[int], found: list[int], new: int) -> list[int]:
    """`symbols` with the pair at each position in `found` replaced by `new`."""
    out, prev = [], 0
    for i in found:
        out.extend(symbols[prev:i])
        out.append(new)
        prev = i + 2
    out.extend(symbols[prev:])
    return out


def count_pairs(words: dict[str, Counter[str]], sample_bytes: dict[str, int], merges: list[tuple[int, int, int]],
                vocab: dict[str, int], n_merges: int) -> PairCounts:
    """Replay the first `n_merges` merges on each category's words, recording pair-count deltas per step."""
    start = time.perf_counter()
    cats = list(words)
    n = len(cats)
    ids = list(vocab.values())
    unknown = max(ids) + 1  # never part of a merge
    width = unknown + 2
    # One entry per (category, word type): its symbols and count.
    symbols: list[list[int]] = []
    owner: list[int] = []
    weight: list[int] = []
    where: dict[int, set[int]] = defaultdict(set)  # pair key -> word entries that may hold it (stale allowed)
    count: dict[int, int] = defaultdict(int)  # pair key * n + category -> count
    for c, cat in enumerate(cats):
        for word, k in words[cat].items():
            w = len(symbols)
            syms = _symbols(word, vocab, unknown)
            symbols.append(syms)
            owner.append(c)
            weight.append(k)
            for a, b in pairwise(syms):
                key = a * width + b
                where[key].add(w)
                count[key * n + c] += k
    pair_id: dict[int, int] = {}

    def pid(key: int) -> int:
        got = pair_id.get(key)
        if got is None:
            got = pair_id[key] = len(pair_id)
        return got

    init = defaultdict(lambda: np.zeros(n))
    for ck, k in count.items():
        init[pid(ck // n)][ck % n] = k
    scale = PER_BYTES / np.maximum(np.array([sample_bytes[c] for c in cats], dtype=np.float64), 1.0)
    steps, merged = [], np.full(min(n_merges, len(merges)), -1, dtype=np.int64)
    for t, (left, right, new) in enumerate(tqdm(merges[:n_merges], desc="merges", disable=None, mininterval=5)):
        key = left * width + right
        if key in pair_id:
            merged[t] = pair_id[key]
        delta: dict[int, int] = defaultdict(int)
        for w in where.pop(key, ()):
            old = symbols[w]
            found = _occurrences(old, left, right)
            if not found:
                continue  # a stale index entry: an earlier merge already consumed this pair here
            joined = _joined(old, found, new)
            c, k = owner[w], weight[w]
            # Only pairs touching a joined position change. Occurrence j at old position i (new position
            # i - j) loses its left pair (unless the previous occurrence ends right before it and already
            # lost it), itself and its right pair; it gains its new left pair, and its new right pair unless
            # the next occurrence starts right after it (then that one gains it as its left pair).
            last_old, last_new = len(old) - 1, len(joined) - 1
            for j, i in enumerate(found):
                q = i - j
                touching = j + 1 < len(found) and found[j + 1] == i + 2
                if i > 0 and not (j and found[j - 1] + 2 == i):
                    delta[(old[i - 1] * width + left) * n + c] -= k
                delta[(left * width + right) * n + c] -= k
                if i + 1 < last_old:
                    delta[(right * width + old[i + 2]) * n + c] -= k
                if q > 0:
                    pk = joined[q - 1] * width + new
                    delta[pk * n + c] += k
                    where[pk].add(w)
                if q < last_new and not touching:
                    pk = new * width + joined[q + 1]
                    delta[pk * n + c] += k
                    where[pk].add(w)
            symbols[w] = joined
        changed: dict[int, np.ndarray] = {}
        for ck, d in delta.items():
            if d:
                count[ck] += d
                p = pid(ck // n)
                if p not in changed:
                    changed[p] = np.zeros(n)
                changed[p][ck % n] = d
        keys = np.fromiter(changed, dtype=np.int64, count=len(changed))
        values = np.stack(list(changed.values()), axis=1) if changed else np.zeros((n, 0))
        steps.append((keys, values * scale[:, None]))
    initial = np.zeros((n, len(pair_id)))
    for p, row in init.items():
        initial[:, p] = row
    pairs = [(key // width, key % width) for key in pair_id]
    seconds = time.perf_counter() - start
    return PairCounts(cats, pairs, initial * scale[:, None], steps, merged,
                      np.array([sample_bytes[c] for c in cats]), seconds)
