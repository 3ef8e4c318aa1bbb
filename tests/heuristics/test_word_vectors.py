"""fastText word vectors from corpus text: words cut per language, a saved model that gives any string a vector."""

import numpy as np
import pytest

from tests.helpers import make_text
from tokshift.core.errors import InputError
from tokshift.core.params import ParamsError
from tokshift.heuristics.word_vectors import WordVectorConfig, load_vectors, segmenter, train_vectors, word_lines

SMALL = WordVectorConfig(dim=8, epochs=3, min_count=1, buckets=20000)


def test_words_are_lowercased_letters_first():
    assert segmenter("de")("Die Straße, 3 Äpfel und O'Brien-Platz!") == ["die", "straße", "äpfel", "und",
                                                                          "o'brien-platz"]


def test_japanese_is_cut_into_words_by_a_morphological_analyser():
    words = segmenter("ja")("東京都に住んでいる猫が好きです。")
    assert "猫" in words and "東京" in words and "。" not in words
    assert "".join(words) == "東京都に住んでいる猫が好きです"


def test_one_line_of_words_per_non_empty_line():
    assert list(word_lines(["Ein Hund.\n\n  \nZwei Katzen", "123"], "de")) == ["ein hund", "zwei katzen"]


def test_trained_vectors_are_saved_and_give_unseen_strings_a_vector(tmp_path):
    texts = [make_text("de", 40, i) for i in range(60)]
    info = train_vectors(texts, "de", tmp_path / "de.bin", SMALL)
    model = load_vectors(tmp_path / "de.bin")
    assert info["vocabulary"] == len(model.words) - 1 > 1000 and info["train_words"] > 10_000  # less </s>
    assert model.get_dimension() == 8
    unseen = model.get_word_vector("xyzunger")  # its n-grams ("ung", "nge", ...) were seen
    assert unseen.shape == (8,) and np.abs(unseen).sum() > 0


def test_training_is_deterministic(tmp_path):
    texts = [make_text("ru", 40, i) for i in range(60)]
    train_vectors(texts, "ru", tmp_path / "a.bin", SMALL)
    train_vectors(texts, "ru", tmp_path / "b.bin", SMALL)
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()


def test_too_little_text_is_refused(tmp_path):
    with pytest.raises(InputError, match="2 de words in the train text, fastText needs at least 5000"):
        train_vectors(["123 Wort 456", "", "noch"], "de", tmp_path / "x.bin", SMALL)
    assert not (tmp_path / "x.bin").exists()


def test_missing_or_corrupt_vectors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="no word vectors; run `dvc repro word_vectors`"):
        load_vectors(tmp_path / "none.bin")
    (tmp_path / "bad.bin").write_bytes(b"not a model")
    with pytest.raises(InputError, match="bad.bin: not a fastText model"):
        load_vectors(tmp_path / "bad.bin")


def test_a_failed_training_is_one_line_naming_the_learning_rate(tmp_path, monkeypatch):
    from tokshift.heuristics import word_vectors

    monkeypatch.setattr(word_vectors, "TRAIN", "raise RuntimeError('Encountered NaN.')")  # as fastText diverging
    texts = [make_text("de", 40, i) for i in range(60)]
    with pytest.raises(InputError, match=r"fastText failed on \d+ words \(RuntimeError: Encountered NaN.\); lower "
                                         r"vectors.lr \(now 0.05\)") as err:
        train_vectors(texts, "de", tmp_path / "x.bin", SMALL)
    assert "\n" not in str(err.value) and not list(tmp_path.iterdir())


@pytest.mark.parametrize("kwargs, field", [({"dim": 0}, "dim"), ({"lr": 0.0}, "lr"), ({"minn": 7, "maxn": 6}, "minn")])
def test_bad_settings_name_the_field(kwargs, field):
    with pytest.raises(ParamsError, match=field):
        WordVectorConfig(**kwargs)
