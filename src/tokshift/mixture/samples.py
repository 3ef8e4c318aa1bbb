"""Sample text of each category (a corpus language, or `code`) from the corpus's train split.

The train documents of a category, in doc_id order, are dealt into two disjoint halves: `fit`
(even positions; what the validation's known-mixture tokenizers train on) and `sample` (odd positions;
whose pair counts the inference uses), so a validation tokenizer is never inferred from its own text.
Leaves out: categories that are not corpus languages (data sources, domains): add them as corpus sources.
"""

from __future__ import annotations

from pathlib import Path

from tokshift.data.corpus import capped_texts, split_texts

HALVES = ("fit", "sample")


def category_texts(corpus: str | Path, category: str, half: str, max_bytes: int, field: str) -> list[str]:
    """The first `max_bytes` UTF-8 bytes of one half of a category's train documents.

    A category without train documents is a one-line error naming the params.yaml `field`.
    """
    if half not in HALVES:
        raise ValueError(f"half must be one of {HALVES}, got '{half}'")
    texts = split_texts(corpus, "train", category, field)
    return capped_texts(texts[HALVES.index(half)::2], max_bytes)


def n_bytes(texts: list[str]) -> int:
    """UTF-8 bytes of `texts`."""
    return sum(len(t.encode("utf-8")) for t in texts)
