"""Orthogonal Procrustes recovers a rotation between two word spaces; precision@1 measures it."""

import numpy as np
import pytest

from tokshift.core.errors import InputError
from tokshift.heuristics.procrustes import normalise, precision_at_1, procrustes


def rotated(n: int = 200, d: int = 16, noise: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    source = normalise(rng.normal(size=(n, d)))
    rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return source, source @ rotation + noise * rng.normal(size=(n, d)), rotation


def test_a_rotation_is_recovered_exactly():
    source, target, rotation = rotated()
    w = procrustes(source[:50], target[:50])
    assert np.allclose(w, rotation, atol=1e-8)
    assert np.allclose(w @ w.T, np.eye(16), atol=1e-10)  # orthogonal


def test_held_out_words_find_their_translation_and_noise_lowers_it():
    gold = [{i} for i in range(150)]
    source, target, _ = rotated()
    w = procrustes(source[:50], target[:50])
    assert precision_at_1(source[50:] @ w, target[50:], gold) == 1.0
    noisy_source, noisy_target, _ = rotated(noise=0.3)
    noisy = precision_at_1(noisy_source[50:] @ procrustes(noisy_source[:50], noisy_target[:50]), noisy_target[50:],
                           gold)
    assert 0.2 < noisy < 1.0
    identity = precision_at_1(source[50:], target[50:], gold)  # unaligned spaces are no better than chance
    assert identity < 0.1


def test_normalised_rows_are_centred_unit_vectors():
    vectors = normalise(np.random.default_rng(1).normal(3.0, 2.0, size=(40, 8)))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


def test_bad_shapes_are_refused():
    with pytest.raises(InputError, match="at least 2 pairs"):
        procrustes(np.zeros((1, 4)), np.zeros((1, 4)))
    with pytest.raises(InputError, match="one gold set per query"):
        precision_at_1(np.zeros((3, 4)), np.zeros((5, 4)), [{0}])
