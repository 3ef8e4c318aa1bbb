"""Leakage: held-out text made of train sentences is recognised, fresh text is not."""

import pytest

from tokshift.data.leakage import LeakageConfig, TrainShingles, shingles


def test_shingles_are_word_ngrams_and_cjk_characters():
    assert shingles("A b c", 2) == {hash("a b"), hash("b c")}
    assert shingles("日本語", 2) == {hash("日 本"), hash("本 語")}
    assert shingles("too short", 5) == {hash("too short")}
    assert shingles("  ", 3) == set()


def test_containment_counts_shingles_from_any_train_document():
    train = TrainShingles(["the quick brown fox jumps over the lazy dog", "lorem ipsum dolor sit amet"], 3)
    # half of this text comes from one train document, half from the other
    assert train.containment("the quick brown fox lorem ipsum dolor sit") == pytest.approx(4 / 6)
    assert train.containment("nothing here was ever seen in train") == 0.0
    assert train.containment("") == 0.0


def test_config_names_its_fields():
    with pytest.raises(ValueError, match="threshold"):
        LeakageConfig(threshold=0)
    with pytest.raises(ValueError, match="ngram"):
        LeakageConfig(ngram=0)
