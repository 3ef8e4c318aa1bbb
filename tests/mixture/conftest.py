"""Fixtures of the mixture tests: a byte-level BPE tokenizer trained on a known mixture of the test languages."""

from __future__ import annotations

import json

import pytest

from tests.helpers import make_text
from tokshift.mixture.merges import parse_merges
from tokshift.tokenization.training import TokenizerConfig, new_tokenizer

# Bytes of training text per language: a known, lopsided mixture.
MIXTURE_DOCS = {"de": 30, "ru": 12, "ja": 6}


@pytest.fixture(scope="module")
def mixture_texts() -> dict[str, list[str]]:
    return {lang: [make_text(lang, 20, 1000 + i) for i in range(n)] for lang, n in MIXTURE_DOCS.items()}


@pytest.fixture(scope="module")
def mixture_bpe(mixture_texts):
    """(BpeMerges, true byte shares) of a 700-token byte-level BPE trained on `mixture_texts`."""
    tok, trainer = new_tokenizer(TokenizerConfig(model="bpe", vocab_size=700, langs=list(MIXTURE_DOCS)))
    docs = [t for texts in mixture_texts.values() for t in texts]
    tok.train_from_iterator(docs, trainer=trainer)
    used = {lang: sum(len(t.encode()) for t in texts) for lang, texts in mixture_texts.items()}
    truth = {lang: b / sum(used.values()) for lang, b in used.items()}
    return parse_merges(json.loads(tok.to_str()), "test tokenizer"), truth
