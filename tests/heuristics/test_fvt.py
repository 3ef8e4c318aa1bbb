"""FVT copies shared tokens and averages the spelling of the rest."""

from __future__ import annotations

import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer

from tokshift.model.base import load_model


def test_fvt_copies_shared_tokens_and_averages_the_rest(ja_transfers, tiny_models):
    model, base = load_model(str(tiny_models["llama-tied"]))
    base_emb = model.get_input_embeddings().weight.detach()
    target = AutoTokenizer.from_pretrained(ja_transfers / "fvt")
    new = load_file(str(ja_transfers / "fvt" / "embeddings.safetensors"))["input"]
    assert new.shape == (len(target), base_emb.shape[1])
    base_vocab, checked_avg = base.get_vocab(), 0
    for token, tid in target.get_vocab().items():
        if token in base_vocab:
            assert torch.allclose(new[tid], base_emb[base_vocab[token]])
            continue
        surface = target.convert_tokens_to_string([token])
        if "\ufffd" in surface:  # a partial UTF-8 sequence has no surface string of its own
            continue
        pieces = base(surface, add_special_tokens=False)["input_ids"]
        assert torch.allclose(new[tid], base_emb[pieces].mean(0), atol=1e-6), token
        checked_avg += 1
    assert checked_avg > 100
