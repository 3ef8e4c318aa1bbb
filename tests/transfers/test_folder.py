"""The transfer folder: written atomically, read back exactly, swapped into a loaded base model."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer

from tokshift.core.errors import MissingFileError
from tokshift.model.base import load_model
from tokshift.model.embeddings import EmbeddingShapeError, embedding_matrices
from tokshift.transfers.folder import apply_transfer, read_transfer, write_transfer


def test_write_read_apply_round_trip(tiny_models, tokenizers_dir, tmp_path):
    tok = AutoTokenizer.from_pretrained(tokenizers_dir / "ja-unigram-400")
    mats = {"input": torch.randn(len(tok), 32, generator=torch.Generator().manual_seed(0))}
    write_transfer(tmp_path / "t", tok, mats, {"method": "test"})
    meta, back = read_transfer(tmp_path / "t")
    assert meta == {"method": "test"} and torch.equal(back["input"], mats["input"])
    model, _ = load_model(str(tiny_models["llama-tied"]))
    new_tok = apply_transfer(model, tmp_path / "t")
    assert torch.equal(embedding_matrices(model)["input"], mats["input"]) and len(new_tok) == len(tok)
    assert model.config.eos_token_id == new_tok.eos_token_id


def test_a_failed_write_keeps_the_old_folder_and_bad_folders_are_named(tiny_models, tokenizers_dir, tmp_path):
    tok = AutoTokenizer.from_pretrained(tokenizers_dir / "ja-unigram-400")
    write_transfer(tmp_path / "t", tok, {"input": torch.zeros(len(tok), 32)}, {"method": "old"})
    with pytest.raises(ValueError, match="expected torch.Tensor"):
        write_transfer(tmp_path / "t", tok, {"input": "not a tensor"}, {"method": "new"})
    assert read_transfer(tmp_path / "t")[0] == {"method": "old"}
    with pytest.raises(MissingFileError, match="not a transfer folder"):
        read_transfer(tmp_path)
    model, _ = load_model(str(tiny_models["llama-tied"]))
    write_transfer(tmp_path / "wide", tok, {"input": torch.zeros(len(tok), 48)}, {})
    with pytest.raises(EmbeddingShapeError, match="width 48"):
        apply_transfer(model, tmp_path / "wide")
