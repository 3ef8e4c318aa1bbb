"""Bootstrap intervals: checked against cases computed by hand, against the normal approximation, and for coverage."""

from __future__ import annotations

import numpy as np
import pytest

from tokshift.stats.bootstrap import (
    Interval,
    group_sums,
    mean_interval,
    paired_mean_difference,
    paired_relative_difference,
    ratio_interval,
)


def test_two_documents_by_hand():
    # documents A (1 bit, 1 byte) and B (3 bits, 1 byte); resampling two of them gives AA (bpb 1) with p 1/4,
    # AB or BA (2) with p 1/2, BB (3) with p 1/4: the 2.5% and 97.5% quantiles are 1 and 3, the value 2
    got = ratio_interval([1.0, 3.0], [1.0, 1.0], ["A", "B"])
    assert got == Interval(2.0, 1.0, 3.0)


def test_chunks_of_one_document_are_resampled_together():
    # four chunks, two documents: the same sums as the two-document case above
    assert ratio_interval([0.5, 0.5, 1.0, 2.0], [0.5, 0.5, 0.5, 0.5], ["A", "A", "B", "B"]) == Interval(2.0, 1.0, 3.0)
    assert [a.tolist() for a in group_sums(["a", "b", "a"], [1, 2, 3], [1, 1, 1])] == [[4.0, 2.0], [2.0, 1.0]]


def test_paired_differences_cancel_what_both_models_share():
    rng = np.random.default_rng(0)
    hardness = rng.lognormal(0, 1, 200)  # documents differ a lot in difficulty
    a, b = hardness * 1.00, hardness * 1.05
    same = paired_relative_difference(a, a)
    assert (same.value, same.lo, same.hi, same.verdict) == (0.0, 0.0, 0.0, "tie")
    diff = paired_relative_difference(a, b)
    assert diff.value == pytest.approx(1 / 1.05 - 1) and diff.hi - diff.lo < 1e-12 and diff.verdict == "lower"
    # unpaired, the same 5% would be lost in the spread of the documents
    assert ratio_interval(b, np.ones(200)).lo < ratio_interval(a, np.ones(200)).hi


def test_accuracy_interval_matches_the_normal_approximation():
    correct = np.array([1.0] * 240 + [0.0] * 60)  # 0.8 of 300 items
    got = mean_interval(correct)
    half = 1.96 * np.sqrt(0.8 * 0.2 / 300)
    assert got.value == pytest.approx(0.8)
    assert got.lo == pytest.approx(0.8 - half, abs=0.01) and got.hi == pytest.approx(0.8 + half, abs=0.01)
    better = paired_mean_difference(np.ones(300), correct)
    assert better.value == pytest.approx(0.2) and better.verdict == "higher"


def test_intervals_cover_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    covered = 0
    for rep in range(200):
        bits = rng.gamma(2.0, 1.0, 40)  # true mean bits per chunk 2.0, every chunk 1 byte: true bpb 2.0
        iv = ratio_interval(bits, np.ones(40), draws=1000, seed=rep)
        covered += iv.lo <= 2.0 <= iv.hi
    assert 0.89 <= covered / 200 <= 0.99


def test_seeded():
    x = np.random.default_rng(2).random(50)
    assert ratio_interval(x, np.ones(50), seed=3) == ratio_interval(x, np.ones(50), seed=3)
    assert ratio_interval(x, np.ones(50), seed=3) != ratio_interval(x, np.ones(50), seed=4)
