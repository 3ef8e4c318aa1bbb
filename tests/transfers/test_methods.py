"""Transfer folders for tied, untied and biased heads."""

from __future__ import annotations

import torch
from safetensors.torch import load_file
from transformers import AutoModelForMaskedLM

from tokshift.transfers.export import export
from tokshift.transfers.methods import transfer


def test_untied_and_biased_heads_are_transferred(tiny_models, tokenizers_dir, tmp_path):
    transfer(tiny_models["neox-untied"], tokenizers_dir / "ja-unigram-400", "fvt", tmp_path / "neox")
    mats = load_file(str(tmp_path / "neox" / "embeddings.safetensors"))
    assert set(mats) == {"input", "output"} and not torch.allclose(mats["input"], mats["output"])
    transfer(tiny_models["bert-mlm"], tokenizers_dir / "ja-unigram-400", "fvt", tmp_path / "bert")
    mats = load_file(str(tmp_path / "bert" / "embeddings.safetensors"))
    assert set(mats) == {"input", "bias"} and mats["bias"].shape == (400,)
    bert = AutoModelForMaskedLM.from_pretrained(export(tmp_path / "bert", tmp_path / "bert-full"))
    assert torch.equal(bert.get_output_embeddings().bias.detach(), mats["bias"])
