"""A frequency splitter (Koehn and Knight, 2003): cut a word where its parts are frequent words.

Every segmentation into known words (each part but the last may carry a linking element: `bahnhof|s|uhr` is
scored as `bahnhof` and `uhr`) is scored by the geometric mean of its parts' counts; the word is cut where
that beats its own count times `whole_weight`. Counts come from the train split's plain words; lexicon
words the corpus never shows count `lexicon_count`. `fit` picks min_part and whole_weight on training pairs.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from tokshift.compounds.pairs import LINKS


@dataclass
class FrequencySplitter:
    counts: dict[str, int]
    """Word -> count (lowercased)."""
    min_part: int = 3
    """Shortest part, linking element not counted."""
    whole_weight: float = 1.0
    """The unsplit word's count is multiplied by this before it competes with the splits."""
    max_parts: int = 4
    """At most this many parts."""

    def score_part(self, part: str, last: bool) -> float:
        """log count of a part (its linking element stripped unless it is the head); -inf when unknown."""
        best = -math.inf
        for link in ("",) if last else LINKS:
            stem = part[:len(part) - len(link)] if link else part
            if part.endswith(link) and len(stem) >= self.min_part and self.counts.get(stem, 0) > 0:
                best = max(best, math.log(self.counts[stem]))
        return best

    def split(self, word: str) -> tuple[int, ...]:
        """Cut offsets of the best segmentation of lowercased `word` (() = leave it whole)."""
        n = len(word)
        # best[k][i]: best (log-count sum, cuts) covering word[:i] with k non-final parts
        best: list[dict[int, tuple[float, tuple[int, ...]]]] = [{0: (0.0, ())}]
        for _ in range(1, self.max_parts):
            layer: dict[int, tuple[float, tuple[int, ...]]] = {}
            for j, (s, cuts) in best[-1].items():
                for i in range(j + self.min_part, n - self.min_part + 1):
                    v = self.score_part(word[j:i], last=False)
                    if v > -math.inf and (i not in layer or s + v > layer[i][0]):
                        layer[i] = (s + v, (*cuts, i))
            if not layer:
                break
            best.append(layer)
        whole = self.counts.get(word, 0) * self.whole_weight
        top, chosen = math.log(whole) if whole > 0 else -math.inf, ()
        for k, layer in enumerate(best[1:], start=1):
            for i, (s, cuts) in layer.items():
                head = self.score_part(word[i:], last=True)
                if head > -math.inf and (s + head) / (k + 1) > top:
                    top, chosen = (s + head) / (k + 1), cuts
        return chosen

    def split_all(self, words: Iterable[str]) -> list[tuple[int, ...]]:
        return [self.split(w) for w in words]


def accuracy(predicted: list[tuple[int, ...]], gold: list[tuple[int, ...]]) -> float:
    """Mean of exact-match accuracy on compounds (gold has cuts) and on non-compounds (gold has none)."""
    by_kind: dict[bool, list[bool]] = {True: [], False: []}
    for p, g in zip(predicted, gold, strict=False):
        by_kind[bool(g)].append(tuple(p) == tuple(g))
    return sum(sum(v) / len(v) for v in by_kind.values() if v) / max(1, sum(1 for v in by_kind.values() if v))


def fit(counts: Counter, words: list[str], gold: list[tuple[int, ...]], min_parts: Iterable[int] = (2, 3, 4),
        whole_weights: Iterable[float] = (0.25, 1.0, 4.0, 16.0)) -> tuple[FrequencySplitter, dict]:
    """The grid point with the best `accuracy` on (words, gold); returns the splitter and every point's score."""
    scores = {}
    for m, w in itertools.product(min_parts, whole_weights):
        splitter = FrequencySplitter(dict(counts), min_part=m, whole_weight=w)
        scores[f"min_part={m},whole_weight={w}"] = (accuracy(splitter.split_all(words), gold), m, w)
    _, m, w = max(scores.values())
    return FrequencySplitter(dict(counts), min_part=m, whole_weight=w), {k: round(v[0], 4) for k, v in scores.items()}
