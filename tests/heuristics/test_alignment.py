"""Aligning two word spaces on dictionary pairs: the map, its held-out precision and what it refuses."""

import numpy as np
import pytest

from tokshift.core.errors import InputError
from tokshift.heuristics.alignment import align, known_pairs


class Vectors:
    """The two things alignment reads from a fastText model: its words and a vector per string."""

    def __init__(self, table: dict[str, np.ndarray]):
        self.table, self.words = table, list(table)

    def get_word_vector(self, word: str) -> np.ndarray:
        return self.table[word]


def rotated_spaces(n: int = 300, d: int = 16, noise: float = 0.05, seed: int = 0):
    """A source space and a target space that is a random rotation of it, word i translating word i."""
    rng = np.random.default_rng(seed)
    source = rng.normal(size=(n, d))
    rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))
    target = source @ rotation + noise * rng.normal(size=(n, d))
    src = Vectors({f"s{i}": v for i, v in enumerate(source)})
    tgt = Vectors({f"t{i}": v for i, v in enumerate(target)})
    return src, tgt, [(f"s{i}", f"t{i}") for i in range(n)]


def test_a_rotated_space_is_recovered_and_held_out_words_find_their_translation():
    src, tgt, pairs = rotated_spaces()
    alignment, report = align(src, tgt, pairs, heldout=0.2)
    assert report["known_pairs"] == 300 and report["heldout_words"] == 60 and report["fit_words"] == 240
    assert report["heldout_precision_at_1"] == 1.0
    mapped = alignment.source(np.stack([src.table["s7"], src.table["s8"]]))
    there = alignment.target(np.stack([tgt.table["t7"], tgt.table["t8"]]))
    assert np.allclose(np.sum(mapped * there, axis=1), 1.0, atol=0.02)  # cosine ~1 in the shared space
    assert np.allclose(alignment.matrix @ alignment.matrix.T, np.eye(16), atol=1e-8)  # orthogonal


def test_unrelated_spaces_align_no_better_than_chance():
    src, _, pairs = rotated_spaces(seed=1)
    _, tgt, _ = rotated_spaces(seed=2)
    _, report = align(src, tgt, pairs, heldout=0.2)
    assert report["heldout_precision_at_1"] < 0.05


def test_only_pairs_both_vocabularies_know_are_used_and_targets_match_lowercased():
    src, tgt, pairs = rotated_spaces(n=40)
    extra = [("s1", "T2"), ("unknown", "t3"), ("s4", "nowhere")]
    assert known_pairs(src, tgt, extra) == [("s1", "T2")]
    _, report = align(src, tgt, pairs + extra, heldout=0.0)
    assert report["dictionary_pairs"] == 43 and report["known_pairs"] == 41
    assert "heldout_precision_at_1" not in report  # nothing held out, nothing scored


def test_too_few_known_pairs_are_refused_with_the_counts():
    src, tgt, pairs = rotated_spaces(n=30)
    with pytest.raises(InputError, match=r"only 10 of 12 dictionary pairs .* \(need 20\)"):
        align(src, tgt, pairs[:10] + [("x", "y"), ("s1", "z")])
