"""The mean and random baselines are seeded and differ."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from tokshift.transfers.methods import transfer


def test_mean_and_random_are_seeded_and_differ(ja_transfers, tiny_models, tokenizers_dir, tmp_path):
    again = transfer(tiny_models["llama-tied"], tokenizers_dir / "ja-unigram-400", "mean", tmp_path / "m", seed=3)
    assert again["vocab_size"] == 400
    first = load_file(str(ja_transfers / "mean" / "embeddings.safetensors"))["input"]
    assert torch.equal(first, load_file(str(tmp_path / "m" / "embeddings.safetensors"))["input"])
    rand = load_file(str(ja_transfers / "random" / "embeddings.safetensors"))["input"]
    assert not torch.allclose(first, rand)
    assert rand[10:].std().item() == pytest.approx(0.02, rel=0.2)  # Llama's initializer_range
