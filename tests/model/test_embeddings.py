"""Embedding matrices by role: input, output when untied, bias when the head has one."""

from __future__ import annotations

import json

from tokshift.model.base import load_model
from tokshift.model.embeddings import embedding_matrices


def test_embedding_matrices_shapes(tiny_models):
    model, _ = load_model(str(tiny_models["neox-untied"]))
    assert {k: tuple(v.shape) for k, v in embedding_matrices(model).items()} == {"input": (400, 32),
                                                                              "output": (400, 32)}
    meta = json.loads((tiny_models["neox-untied"] / "config.json").read_text())
    assert meta["tie_word_embeddings"] is False


def test_an_output_matrix_unties_a_tied_model_and_stock_transformers_reloads_it(tiny_models, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tokshift.model.embeddings import set_embeddings, tied_head

    model, tok = load_model(str(tiny_models["llama-tied"]))
    gen = torch.Generator().manual_seed(0)
    mats = {"input": torch.randn(400, 32, generator=gen), "output": torch.randn(400, 32, generator=gen)}
    set_embeddings(model, mats, tok)
    assert not tied_head(model) and model.config.tie_word_embeddings is False
    assert torch.equal(model.get_input_embeddings().weight, mats["input"])
    assert torch.equal(model.get_output_embeddings().weight, mats["output"])
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert json.loads((tmp_path / "config.json").read_text())["tie_word_embeddings"] is False
    ids = AutoTokenizer.from_pretrained(tmp_path)("Ein kurzer Satz", return_tensors="pt").input_ids
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, model(ids).logits)
    set_embeddings(model, {"input": mats["input"]}, tok)  # matrices without 'output': the head is tied again
    assert tied_head(model) and model.config.tie_word_embeddings is True
