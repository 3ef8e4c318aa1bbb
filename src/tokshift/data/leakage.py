"""Near-duplicate leakage between train and held-out text: shingled word n-grams and their containment.

A held-out chunk leaks when most of its word n-grams also occur somewhere in the train split of its
language: the help pages repeat sentences across pages, so a test paragraph can be train text in
another page's words. Containment (share of the chunk's shingles seen in train) catches a chunk
assembled from several train documents, which a Jaccard score against any single one would miss.
Words are `\\w+` runs, except that CJK ideographs and kana count one character each (ja and zh have
no spaces). The train shingles are kept exactly (a hash set: a few MB of text per language), so
there is no MinHash approximation. Leaves out: near-duplicates within a split, and across languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tokshift.core.params import check

WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|\w+")


@dataclass
class LeakageConfig:
    ngram: int = 8
    """Words per shingle (CJK: characters)."""
    threshold: float = 0.5
    """A held-out chunk with at least this share of its shingles in the train split is dropped."""

    def __post_init__(self) -> None:
        check(self.ngram >= 1, "ngram", f"must be >= 1, got {self.ngram}")
        check(0 < self.threshold <= 1, "threshold", f"must be in (0, 1], got {self.threshold}")


def shingles(text: str, n: int) -> set[int]:
    """Hashes of the text's lowercased word n-grams; a text of fewer than n words is one shingle (none if empty).

    Example: shingles("a b c", 2) == {hash("a b"), hash("b c")}.
    """
    words = WORD.findall(text.lower())
    if len(words) < n:
        return {hash(" ".join(words))} if words else set()
    return {hash(" ".join(words[i:i + n])) for i in range(len(words) - n + 1)}


class TrainShingles:
    """Every shingle of one language's train documents, to measure how much of a held-out text they contain."""

    def __init__(self, texts: Iterable[str], n: int):
        self.n = n
        self.seen: set[int] = set()
        for text in texts:
            self.seen |= shingles(text, n)

    def containment(self, text: str) -> float:
        """Share of the text's shingles that occur in the train text (0 for a text without words)."""
        own = shingles(text, self.n)
        return len(own & self.seen) / len(own) if own else 0.0
