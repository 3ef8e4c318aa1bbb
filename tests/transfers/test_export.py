"""Exported transfers load with stock transformers, generate, and carry their metrics in the card."""

from __future__ import annotations

import pytest
import torch
import yaml
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.helpers import HEURISTICS_FAST
from tokshift.model.base import load_model
from tokshift.transfers.export import export
from tokshift.transfers.folder import apply_transfer


@pytest.mark.parametrize("method", HEURISTICS_FAST)
def test_export_loads_with_stock_transformers_and_generates(ja_transfers, tiny_models, tmp_path, method):
    out = export(ja_transfers / method, tmp_path / method)
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert model.get_input_embeddings().weight.shape[0] == len(tok) == model.config.vocab_size == 400
    assert model.config.eos_token_id == tok.eos_token_id == tok.convert_tokens_to_ids("<|endoftext|>")
    prompt = tok("日本語の", return_tensors="pt")
    ids = model.generate(**prompt, max_new_tokens=5, do_sample=False)
    in_memory, _ = load_model(str(tiny_models["llama-tied"]))
    apply_transfer(in_memory, ja_transfers / method)
    assert torch.equal(ids, in_memory.generate(**prompt, max_new_tokens=5, do_sample=False)), \
        "the saved model generates what the base with the transfer applied in memory does"
    header = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    assert header["method"] == method and header["target_tokenizer"].endswith("ja-unigram-400")
    assert header["library_name"] == "transformers" and header["language"] == ["ja"]
    assert torch.equal(model.get_input_embeddings().weight.detach(),
                       load_file(str(ja_transfers / method / "embeddings.safetensors"))["input"])


def test_export_of_a_folder_that_is_not_a_transfer(tmp_path):
    from tokshift.core.errors import MissingFileError

    with pytest.raises(MissingFileError, match="not a transfer folder"):
        export(tmp_path, tmp_path / "out")
