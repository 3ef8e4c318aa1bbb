"""Special tokens take the base embeddings of the same token or role; one the base lacks is an error."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer

from tests.helpers import HEURISTICS_FAST
from tokshift.model.base import load_model
from tokshift.tokenization.specials import SpecialTokenError
from tokshift.transfers.methods import transfer


def test_special_tokens_take_the_base_embeddings(ja_transfers, tiny_models):
    model, base = load_model(str(tiny_models["llama-tied"]))
    base_emb = model.get_input_embeddings().weight.detach()
    for method in HEURISTICS_FAST:
        new = load_file(str(ja_transfers / method / "embeddings.safetensors"))["input"]
        for token in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"):
            assert torch.equal(new[AutoTokenizer.from_pretrained(ja_transfers / method).convert_tokens_to_ids(token)],
                               base_emb[base.convert_tokens_to_ids(token)])


def test_special_token_the_base_lacks(tiny_models, tokenizers_dir, tmp_path):
    tok = AutoTokenizer.from_pretrained(tokenizers_dir / "ja-unigram-400")
    tok.add_special_tokens({"additional_special_tokens": ["<|tool_call|>"]})
    tok.save_pretrained(tmp_path / "tok")
    with pytest.raises(SpecialTokenError, match=r"'<\|tool_call\|>'.*no counterpart in the base model"):
        transfer(tiny_models["llama-tied"], tmp_path / "tok", "fvt", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_special_ids_and_strings_agree_on_the_trained_tokenizers(tokenizers_dir, base):
    from transformers import AutoTokenizer

    from tokshift.tokenization.specials import special_ids, special_strings

    hf = AutoTokenizer.from_pretrained(tokenizers_dir / "de-bpe-400")
    assert special_ids(base) == {0, 1, 2}, "<|endoftext|>, <|im_start|>, <|im_end|> come first"
    assert set(special_strings(hf)) == {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}
    assert {hf.convert_tokens_to_ids(t) for t in special_strings(hf)} == special_ids(base)
