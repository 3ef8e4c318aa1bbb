"""Hypernetwork training text: a pure function of (step, rank), and the per-language caches the sampler counts.

Because the texts of a step depend only on (seed, step, rank), a resumed run rebuilds its caches by
replaying the steps before the checkpoint instead of storing them.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from tokshift.hypernet.sampler import SubstringCounts


@dataclass
class StreamConfig:
    langs: list[str]
    """Languages, one per step in turn (offset by rank)."""
    batch_size: int
    """Texts per step."""
    chars: int
    """Characters cut from a document per text."""
    cache_texts: int
    """Most recent texts per language that the sampler counts substrings of."""
    max_piece_chars: int
    """Longest substring counted."""
    seed: int
    """Seed of the document and offset draws."""
    first_step: int = 0
    """First step that reads text (compositional warm-up steps before it read none)."""


class TextStream:
    """Training texts as a pure function of (step, rank), and the per-language caches the sampler counts."""

    def __init__(self, docs: dict[str, list[str]], cfg: StreamConfig, base: Tokenizer, rank: int, world: int):
        self.docs, self.cfg, self.rank, self.world = docs, cfg, rank, world
        self.chars = cfg.chars
        self.cache = {lang: deque() for lang in docs}
        self.counts = {lang: SubstringCounts(base, cfg.max_piece_chars) for lang in docs}

    def lang(self, step: int) -> str:
        return self.cfg.langs[(step * self.world + self.rank) % len(self.cfg.langs)]

    def texts(self, step: int) -> tuple[str, list[str]]:
        lang, rng = self.lang(step), np.random.default_rng([self.cfg.seed, step, self.rank, 1])
        docs, out = self.docs[lang], []
        for _ in range(self.cfg.batch_size):
            doc = docs[int(rng.integers(len(docs)))]
            start = int(rng.integers(max(1, len(doc) - self.chars)))
            line = doc.find("\n", start, start + self.chars // 4)
            start = line + 1 if line >= 0 else start  # start at a line when one is near
            out.append(doc[start:start + self.chars])
        return lang, out

    def push(self, step: int) -> tuple[str, list[str]]:
        """The texts of `step`, added to their language's cache (evicting the oldest)."""
        lang, texts = self.texts(step)
        cache, counts = self.cache[lang], self.counts[lang]
        for text in texts:
            if len(cache) == self.cfg.cache_texts:
                counts.update(cache.popleft(), -1)
            cache.append(text)
            counts.update(text, 1)
        return lang, texts

    def replay(self, start: int) -> None:
        """Rebuild the caches as they were before `start` (enough earlier steps to fill every cache)."""
        span = len(self.cfg.langs) * math.ceil(self.cfg.cache_texts / self.cfg.batch_size)
        for step in range(max(self.cfg.first_step, start - span), start):
            self.push(step)
