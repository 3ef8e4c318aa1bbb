"""Aligning two word-embedding spaces with an orthogonal map fitted on dictionary pairs (WECHSEL's first step).

Given vectors of dictionary pairs (source word i translates to target word i), the orthogonal W minimising
||source @ W - target|| is U @ V^T from the SVD of source^T @ target (orthogonal Procrustes). Vectors are
centred and length-normalised first (alignment.py, as WECHSEL does). Precision@1 on held-out pairs: the
share of held-out source words whose nearest target word (cosine, among all target words given) is a listed
translation.
Leaves out: training the word vectors themselves (fastText) and the token embeddings built on the map.
"""

from __future__ import annotations

import numpy as np

from tokshift.core.errors import InputError


def unit(vectors: np.ndarray) -> np.ndarray:
    """Each row at unit length (zero rows stay zero)."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Centred, then unit length per row."""
    return unit(vectors - vectors.mean(axis=0, keepdims=True))


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """[d, d] orthogonal W with source @ W closest to target (rows are paired)."""
    if source.shape != target.shape or len(source) < 2:
        raise InputError(f"Procrustes needs paired vectors of one shape and at least 2 pairs, got {source.shape} "
                         f"and {target.shape}")
    u, _, vt = np.linalg.svd(source.T @ target)
    return u @ vt


def precision_at_1(mapped: np.ndarray, targets: np.ndarray, gold: list[set[int]]) -> float:
    """Share of rows of `mapped` whose nearest row of `targets` (cosine) is in the row's `gold` set."""
    if len(mapped) != len(gold) or not len(mapped):
        raise InputError(f"precision@1 needs one gold set per query, got {len(mapped)} queries, {len(gold)} sets")
    nearest = np.argmax(unit(mapped) @ unit(targets).T, axis=1)
    return float(np.mean([int(n) in g for n, g in zip(nearest, gold, strict=True)]))
