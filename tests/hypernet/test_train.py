"""Training entry point: its texts come from the corpus splits, and metrics summarise only trained terms."""

from __future__ import annotations

import math

import pytest

from tokshift.core.errors import InputError, MissingFileError
from tokshift.hypernet.config import TrainConfig
from tokshift.hypernet.train import tail_mean, training_texts


def test_train_and_eval_texts_come_from_their_splits(corpus_file, tokenizers_dir):
    ja = str(tokenizers_dir / "ja-unigram-400")
    docs, evals = training_texts(corpus_file, TrainConfig(langs=["de"], eval_tokenizers=[ja], eval_max_bytes=500))
    assert list(docs) == ["de"] and docs["de"]
    assert list(evals[ja]) == ["ja"], "an eval tokenizer is scored on its own languages"
    assert 0 < sum(len(t.encode("utf-8")) for t in evals[ja]["ja"]) <= 500


def test_a_language_without_train_text_and_a_missing_eval_tokenizer_are_named(corpus_file, tmp_path):
    with pytest.raises(InputError, match="no train documents for 'zh'"):
        training_texts(corpus_file, TrainConfig(langs=["de", "zh"], eval_tokenizers=[]))
    with pytest.raises(MissingFileError, match=r"hypernet\.eval_tokenizers\[0\]: .*not a tokenizer folder"):
        training_texts(corpus_file, TrainConfig(langs=["de"], eval_tokenizers=[str(tmp_path / "none")]))


def test_tail_mean_is_over_the_last_tenth_and_skips_untrained_terms():
    rows = [{"lm_loss": float(i), "hidden_loss": math.nan} for i in range(20)]
    assert tail_mean(rows, "lm_loss") == 18.5 and tail_mean(rows, "hidden_loss") is None
