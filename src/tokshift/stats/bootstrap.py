"""Bootstrap intervals: bits per byte, paired relative differences and accuracies, resampled by document.

Chunks of one document share its topic and style, so resampling chunks would understate the
spread; every function here resamples *groups* (documents, or items where each item is its own
group) with replacement and recomputes the statistic, `draws` times, with a seeded generator. A
ratio statistic (bits / bytes) is recomputed from the resampled sums, not averaged per chunk. The
interval is the percentile interval. A paired comparison applies the same resample to both
models, so the noise they share (hard documents are hard for both) cancels; a relative difference
whose interval contains 0 is a tie. Leaves out: BCa and studentised intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DRAWS = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    value: float
    """The statistic on the data as it is."""
    lo: float
    """Lower end of the percentile interval."""
    hi: float
    """Upper end."""

    @property
    def verdict(self) -> str:
        """For a difference: 'tie' when the interval contains 0 (to 6 places: float32 rounding is no difference),
        else 'lower' or 'higher'."""
        lo, hi = round(self.lo, 6), round(self.hi, 6)
        if math.isnan(lo) or math.isnan(hi):
            return "undefined"
        return "tie" if lo <= 0 <= hi else ("lower" if hi < 0 else "higher")

    def as_dict(self, digits: int = 5) -> dict[str, float]:
        return {"value": round(self.value, digits), "lo": round(self.lo, digits), "hi": round(self.hi, digits)}

    def comparison(self, digits: int = 5) -> dict:
        """A difference as reported: {value, lo, hi, verdict}."""
        return {**self.as_dict(digits), "verdict": self.verdict}


def spread(row: dict, names: tuple[str, ...] = ()) -> dict:
    """A row with each comparison ({value, lo, hi, verdict}) spread into the columns name, name_lo, name_hi and
    name_verdict, for CSV; each of `names` the row lacks gets empty columns."""
    out = {}
    for key, value in {**row, **{n: {} for n in names if n not in row}}.items():
        if isinstance(value, dict):
            out.update({key: value.get("value", ""), f"{key}_lo": value.get("lo", ""),
                        f"{key}_hi": value.get("hi", ""), f"{key}_verdict": value.get("verdict", "")})
        else:
            out[key] = value
    return out


def group_sums(groups: Sequence, *columns: Sequence[float]) -> list[np.ndarray]:
    """Each column summed within each group (groups in first-seen order).

    Example: group_sums(["a", "b", "a"], [1, 2, 3]) -> [array([4., 2.])].
    """
    index: dict = {}
    ids = np.array([index.setdefault(g, len(index)) for g in groups], dtype=np.int64)
    return [np.bincount(ids, weights=np.asarray(c, dtype=np.float64), minlength=len(index)) for c in columns]


def resample_counts(n_groups: int, draws: int, seed: int) -> np.ndarray:
    """[draws, n_groups]: how often each group is picked in each resample of n_groups with replacement."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=draws).astype(np.float64)


def percentile(values: np.ndarray, level: float) -> tuple[float, float]:
    """The percentile interval of the resampled statistics; a resample where it is undefined (a ratio over a
    resampled zero, e.g. no hit among the items drawn) is left out."""
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail], method="inverted_cdf")
    return float(lo), float(hi)


def ratio_interval(num: Sequence[float], den: Sequence[float], groups: Sequence | None = None, draws: int = DRAWS,
                   seed: int = 0, level: float = LEVEL) -> Interval:
    """Interval of sum(num) / sum(den), e.g. bits per byte over chunks, resampling groups (default: each row)."""
    groups = range(len(num)) if groups is None else groups
    n, d = group_sums(groups, num, den)
    counts = resample_counts(len(n), draws, seed)
    return Interval(float(n.sum() / d.sum()), *percentile((counts @ n) / (counts @ d), level))


def paired_relative_difference(num_a: Sequence[float], num_b: Sequence[float], groups: Sequence | None = None,
                               draws: int = DRAWS, seed: int = 0, level: float = LEVEL) -> Interval:
    """Interval of sum(a) / sum(b) - 1 on the same rows (bits of two models over the same bytes: their relative bpb
    difference), both resampled alike."""
    groups = range(len(num_a)) if groups is None else groups
    a, b = group_sums(groups, num_a, num_b)
    counts = resample_counts(len(a), draws, seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        resampled = (counts @ a) / (counts @ b) - 1
    return Interval(float(a.sum() / b.sum() - 1), *percentile(resampled, level))


def paired_ratio_difference(num_a: Sequence[float], den_a: Sequence[float], num_b: Sequence[float],
                            den_b: Sequence[float], groups: Sequence | None = None, draws: int = DRAWS, seed: int = 0,
                            level: float = LEVEL) -> Interval:
    """Interval of (sum(num_a) / sum(den_a)) / (sum(num_b) / sum(den_b)) - 1 on the same rows, both resampled alike
    (seconds per byte of two models on the same prompts, each writing its own number of bytes)."""
    groups = range(len(num_a)) if groups is None else groups
    na, da, nb, db = group_sums(groups, num_a, den_a, num_b, den_b)
    counts = resample_counts(len(na), draws, seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        resampled = (counts @ na) / (counts @ da) / ((counts @ nb) / (counts @ db)) - 1
    return Interval(float(na.sum() / da.sum() / (nb.sum() / db.sum()) - 1), *percentile(resampled, level))


def mean_interval(values: Sequence[float], groups: Sequence | None = None, draws: int = DRAWS, seed: int = 0,
                  level: float = LEVEL) -> Interval:
    """Interval of the mean of per-row values (accuracy: 0/1 per item), resampling groups (default: each row)."""
    return ratio_interval(values, np.ones(len(values)), groups, draws, seed, level)


def paired_mean_difference(a: Sequence[float], b: Sequence[float], groups: Sequence | None = None, draws: int = DRAWS,
                           seed: int = 0, level: float = LEVEL) -> Interval:
    """Interval of mean(a) - mean(b) over the same rows (e.g. two models' correctness on the same items)."""
    groups = range(len(a)) if groups is None else groups
    sa, sb, n = group_sums(groups, a, b, np.ones(len(a)))
    counts = resample_counts(len(n), draws, seed)
    diffs = (counts @ sa - counts @ sb) / (counts @ n)
    return Interval(float((sa.sum() - sb.sum()) / n.sum()), *percentile(diffs, level))
