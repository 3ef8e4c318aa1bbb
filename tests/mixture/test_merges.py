"""Reading a tokenizer's merge list, and the clear refusals of tokenizers that have none."""

from __future__ import annotations

import json

import pytest

from tokshift.core.errors import MissingFileError
from tokshift.mixture.merges import MergeListError, read_merges, word_counts


def test_merges_are_id_triples_in_training_order(mixture_bpe, tmp_path):
    bpe, _ = mixture_bpe
    bpe.tokenizer.save(str(tmp_path / "tokenizer.json"))
    again = read_merges(tmp_path)
    assert again.merges == bpe.merges
    inverse = {i: t for t, i in again.vocab.items()}
    left, right, new = again.merges[0]
    assert inverse[left] + inverse[right] == inverse[new]


def test_words_are_the_pre_tokenizers(mixture_bpe):
    bpe, _ = mixture_bpe
    assert word_counts(bpe.tokenizer, ["hi hi", "hi"]) == {"hi": 2, "Ġhi": 1}


def test_a_unigram_tokenizer_is_refused_naming_why(tokenizers_dir):
    with pytest.raises(MergeListError, match="Unigram tokenizer has no merge list"):
        read_merges(tokenizers_dir / "ja-unigram-400")


def test_merges_naming_unknown_tokens_are_refused(mixture_bpe, tmp_path):
    bpe, _ = mixture_bpe
    spec = json.loads(bpe.tokenizer.to_str())
    spec["model"]["merges"][3] = ["Ġzz", "qq"]
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(MergeListError, match=r"merge 3 \('Ġzz', 'qq'\) names 'Ġzz'.*not in the vocabulary"):
        read_merges(tmp_path)


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(MissingFileError, match="tokenizer.json: not found"):
        read_merges(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{", encoding="utf-8")
    with pytest.raises(Exception, match="tokenizer.json: not a tokenizer file"):
        read_merges(tmp_path)
