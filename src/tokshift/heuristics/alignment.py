"""One aligned space for two fastText models: an orthogonal map fitted on the dictionary pairs both know.

Vectors are unit length, centred on their model's mean word vector and made unit length again (the same
transform for dictionary words and, later, tokens). Pairs whose two words both have their own vector in
their model are split by English headword into fit and held-out parts; the map fitted on the fit part is
scored by precision@1 on the held-out part (the nearest of all target dictionary words found, by cosine),
then refitted on every pair, which is the map WECHSEL uses. Leaves out: iterative refinement (CSLS, self-learning).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from tokshift.core.errors import InputError
from tokshift.heuristics.procrustes import precision_at_1, procrustes, unit

MIN_PAIRS = 20  # below this the map is underdetermined noise, whatever the vectors' size


@dataclass
class Alignment:
    source_mean: np.ndarray
    """Mean unit word vector of the source model ([d])."""
    target_mean: np.ndarray
    """Mean unit word vector of the target model ([d])."""
    matrix: np.ndarray
    """[d, d] orthogonal map: source space @ matrix lies in the target space."""

    def source(self, vectors: np.ndarray) -> np.ndarray:
        """Source vectors [n, d] in the shared space."""
        return space(vectors, self.source_mean) @ self.matrix

    def target(self, vectors: np.ndarray) -> np.ndarray:
        """Target vectors [n, d] in the shared space."""
        return space(vectors, self.target_mean)


def space(vectors: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Unit length, centred on `mean`, unit length again."""
    return unit(unit(np.asarray(vectors, dtype=np.float64)) - mean)


def model_mean(model) -> np.ndarray:
    """Mean unit vector over the words of a fastText model (its end-of-line word </s> left out)."""
    words = [w for w in model.words if w != "</s>"]
    return unit(np.stack([model.get_word_vector(w) for w in words]).astype(np.float64)).mean(axis=0)


def known_pairs(model_source, model_target, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs whose source word and target word both have their own vector (in the models' vocabularies)."""
    have_source, have_target = set(model_source.words), set(model_target.words)
    return [(s, t) for s, t in pairs if s in have_source and t.lower() in have_target]


def align(model_source, model_target, pairs: list[tuple[str, str]], heldout: float = 0.2,
          seed: int = 0) -> tuple[Alignment, dict]:
    """Fit the map on the dictionary `pairs` (source word, target word); returns it and its report."""
    known = [(s, t.lower()) for s, t in known_pairs(model_source, model_target, pairs)]
    if len(known) < MIN_PAIRS:
        raise InputError(f"alignment: only {len(known)} of {len(pairs)} dictionary pairs have both words in the "
                         f"word vectors' vocabularies (need {MIN_PAIRS}); train them on more text")
    heads = sorted({s for s, _ in known})
    random.Random(seed).shuffle(heads)
    held = set(heads[:int(len(heads) * heldout)])
    means = model_mean(model_source), model_mean(model_target)
    vec_s = {s: v for s, v in zip(heads, space(np.stack([model_source.get_word_vector(s) for s in heads]), means[0]),
                                  strict=True)}
    targets = sorted({t for _, t in known})
    tgt_index = {t: i for i, t in enumerate(targets)}
    tgt_space = space(np.stack([model_target.get_word_vector(t) for t in targets]), means[1])

    def fit(rows: list[tuple[str, str]]) -> np.ndarray:
        return procrustes(np.stack([vec_s[s] for s, _ in rows]), np.stack([tgt_space[tgt_index[t]] for _, t in rows]))

    gold_of: dict[str, set[int]] = {}
    for s, t in known:
        gold_of.setdefault(s, set()).add(tgt_index[t])
    report = {"dictionary_pairs": len(pairs), "known_pairs": len(known), "target_words": len(targets)}
    fit_rows = [p for p in known if p[0] not in held]
    if held and len(fit_rows) >= MIN_PAIRS:
        matrix = fit(fit_rows)
        for name, words in (("heldout", sorted(held)), ("fit", sorted({s for s, _ in fit_rows}))):
            report[f"{name}_words"] = len(words)
            report[f"{name}_precision_at_1"] = round(precision_at_1(np.stack([vec_s[w] for w in words]) @ matrix,
                                                                    tgt_space, [gold_of[w] for w in words]), 4)
    return Alignment(means[0], means[1], fit(known)), report
