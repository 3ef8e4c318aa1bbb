"""Pair counts along a merge list: the incremental replay equals recounting from scratch at every step."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import numpy as np

from tokshift.mixture.counts import PER_BYTES, _occurrences, count_pairs
from tokshift.mixture.merges import word_counts
from tokshift.mixture.samples import n_bytes


def test_occurrences_are_left_to_right_and_never_overlap():
    assert _occurrences([1, 1, 1, 2, 1, 1], 1, 1) == [0, 4]
    assert _occurrences([1, 2, 1, 2], 1, 2) == [0, 2]
    assert _occurrences([2, 1], 1, 2) == []


def recount(words: dict[str, Counter], merges, vocab, steps: int) -> list[dict[tuple, np.ndarray]]:
    """Reference: apply merges one by one to every word and count all pairs again after each."""
    cats = list(words)
    seqs = {c: [([vocab[ch] for ch in w], k) for w, k in words[c].items()] for c in cats}
    out = []
    for t in range(steps + 1):
        counts: dict[tuple, np.ndarray] = {}
        for i, c in enumerate(cats):
            for syms, k in seqs[c]:
                for pair in pairwise(syms):
                    counts.setdefault(pair, np.zeros(len(cats)))[i] += k
        out.append(counts)
        if t == steps:
            break
        left, right, new = merges[t]
        for c in cats:
            merged = []
            for syms, k in seqs[c]:
                s, i = [], 0
                while i < len(syms):
                    if i + 1 < len(syms) and syms[i] == left and syms[i + 1] == right:
                        s.append(new)
                        i += 2
                    else:
                        s.append(syms[i])
                        i += 1
                merged.append((s, k))
            seqs[c] = merged
    return out


def test_incremental_counts_equal_a_recount_at_every_step(mixture_bpe, mixture_texts):
    bpe, _ = mixture_bpe
    texts = {c: t[:3] for c, t in mixture_texts.items()}
    words = {c: word_counts(bpe.tokenizer, t) for c, t in texts.items()}
    sizes = {c: n_bytes(t) for c, t in texts.items()}
    steps = 120
    counts = count_pairs(words, sizes, bpe.merges, bpe.vocab, steps)
    scale = np.array([PER_BYTES / sizes[c] for c in counts.categories])
    reference = recount(words, bpe.merges, bpe.vocab, steps)
    pair_id = {pair: i for i, pair in enumerate(counts.pairs)}
    current = counts.initial.copy()
    for t in range(steps + 1):
        expect = np.zeros_like(current)
        for pair, row in reference[t].items():
            expect[:, pair_id[pair]] = row * scale
        np.testing.assert_allclose(current, expect, atol=1e-6, err_msg=f"after {t} merges")
        if t < steps:
            left, right, _ = bpe.merges[t]
            assert counts.merged[t] == pair_id.get((left, right), -1)
            keys, deltas = counts.steps[t]
            current[:, keys] += deltas


def test_characters_outside_the_vocabulary_never_merge():
    vocab = {"a": 0, "b": 1, "ab": 2}
    counts = count_pairs({"x": Counter({"aXb": 3, "ab": 1})}, {"x": 10}, [(0, 1, 2)], vocab, 5)
    assert len(counts.merged) == 1
    keys, deltas = counts.steps[0]
    # only the word "ab" holds the pair: one occurrence, count 1 (per million of 10 bytes)
    ab = counts.pairs.index((0, 1))
    assert deltas[0, list(keys).index(ab)] == -1 * PER_BYTES / 10


def test_runs_of_the_merged_pair_are_counted_like_a_recount():
    # "aaaa" -> "AA" -> (A A): the occurrences touch; "ababab" -> "xxx" with x = ab
    vocab = {"a": 0, "b": 1, "c": 2, "aa": 3, "ab": 4, "aaaa": 5, "abab": 6, "caa": 7}
    merges = [(0, 0, 3), (0, 1, 4), (3, 3, 5), (4, 4, 6), (2, 3, 7)]
    words = {"x": Counter({"aaaa": 2, "ababab": 1, "caaab": 3, "aaaaa": 1}), "y": Counter({"caab": 5})}
    counts = count_pairs(words, {"x": 1_000_000, "y": 1_000_000}, merges, vocab, len(merges))
    reference = recount(words, merges, vocab, len(merges))
    current = counts.initial.copy()
    for t in range(len(merges) + 1):
        got = {counts.pairs[p]: tuple(current[:, p]) for p in range(len(counts.pairs)) if current[:, p].any()}
        assert got == {pair: tuple(row) for pair, row in reference[t].items()}, f"after {t} merges"
        if t < len(merges):
            keys, deltas = counts.steps[t]
            current[:, keys] += deltas
