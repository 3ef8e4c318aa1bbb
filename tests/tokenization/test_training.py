"""Trained tokenizers load with stock transformers, round-trip bytes and learn their language."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from tokshift.core.params import ParamsError
from tokshift.data.corpus import EmptyCorpusError, read_corpus
from tokshift.tokenization.training import TokenizerConfig, TokenizerFileError, load_tokenizer, train_tokenizer

NAMES = ["de-bpe-400", "ja-unigram-400"]


SAMPLES = ["Die Straße ist schön.", "日本語の設定を変更します。", "emoji 🤗 and tabs\tand  spaces", "Ελληνικά"]


@pytest.mark.parametrize("name", NAMES)
def test_loads_with_auto_tokenizer_offline(tokenizers_dir, name):
    tok = AutoTokenizer.from_pretrained(tokenizers_dir / name, local_files_only=True)
    assert len(tok) == 400
    assert tok.convert_ids_to_tokens(0) == "<|endoftext|>" == tok.eos_token == tok.bos_token
    assert tok.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"]) == [1, 2]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("text", SAMPLES)
def test_byte_level_round_trip_and_agrees_with_tokenizers(tokenizers_dir, name, text):
    hf = AutoTokenizer.from_pretrained(tokenizers_dir / name, local_files_only=True)
    raw = load_tokenizer(tokenizers_dir / name)
    ids = hf.encode(text, add_special_tokens=False)
    assert ids == raw.encode(text, add_special_tokens=False).ids
    assert hf.decode(ids) == text
    assert raw.token_to_id("<unk>") is None  # byte-level: nothing is unknown


def test_learns_the_language(tokenizers_dir, corpus_file):
    """Trained on German pseudo-text, the German tokenizer compresses German better than Japanese's."""
    text = "\n".join(read_corpus(corpus_file, split="test", lang="de").column("text").to_pylist())
    de = len(load_tokenizer(tokenizers_dir / "de-bpe-400").encode(text).ids)
    ja = len(load_tokenizer(tokenizers_dir / "ja-unigram-400").encode(text).ids)
    assert de < 0.6 * ja


def test_non_byte_level_needs_unk():
    with pytest.raises(ParamsError, match="unk_token is required when byte_level is false"):
        TokenizerConfig(model="bpe", vocab_size=500, langs=["de"], byte_level=False)


def test_corrupt_tokenizer_json(tmp_path):
    (tmp_path / "tokenizer.json").write_text('{"model": {"type": "BPE", "vocab": ', encoding="utf-8")
    with pytest.raises(TokenizerFileError, match=r"tokenizer\.json: corrupt tokenizer file.*rerun"):
        load_tokenizer(tmp_path)
    with pytest.raises(FileNotFoundError, match="tokenizer.json: not found"):
        load_tokenizer(tmp_path / "missing")


def test_missing_language_in_corpus(corpus_file, tmp_path):
    cfg = TokenizerConfig(model="bpe", vocab_size=300, langs=["el"])
    with pytest.raises(EmptyCorpusError, match="no train documents for language 'el'"):
        train_tokenizer(corpus_file, cfg, tmp_path / "el")
    assert not (tmp_path / "el").exists()


def test_the_gemma_convention_has_gemmas_ids_and_starts_every_text_with_bos(corpus_file, tmp_path):
    train_tokenizer(corpus_file, TokenizerConfig(model="bpe", vocab_size=400, langs=["de"], convention="gemma"),
                    tmp_path / "de-gemma")
    tok = AutoTokenizer.from_pretrained(tmp_path / "de-gemma")
    assert tok.convert_ids_to_tokens(list(range(6))) == ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>",
                                                         "<end_of_turn>"]  # Gemma's own ids
    assert (tok.pad_token_id, tok.eos_token_id, tok.bos_token_id) == (0, 1, 2)
    ids = tok("Die Straße ist schön.")["input_ids"]
    assert ids[0] == 2 and tok.decode(ids, skip_special_tokens=True) == "Die Straße ist schön."
    assert tok("Die Straße", add_special_tokens=False)["input_ids"][0] != 2
    with pytest.raises(ParamsError, match="add_bos"):
        TokenizerConfig(model="bpe", vocab_size=400, langs=["de"], add_bos=True, bos_token=None)
