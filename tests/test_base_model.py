"""Base models of every shape load, save as plain safetensors, and reload with stock transformers."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

from tokshift.base_model import BaseModelConfig, ModelLoadError, load_model, prepare_base_model


@pytest.mark.parametrize("kind", ["llama-tied", "neox-untied", "bert-mlm"])
def test_load_and_prepare(tiny_models, kind, tmp_path):
    model, tokenizer = load_model(str(tiny_models[kind]))
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)
    metrics = prepare_base_model(BaseModelConfig(name_or_path=str(tiny_models[kind]), check_prompt=""),
                                 tmp_path / "base")
    assert metrics["tied_embeddings"] == (kind != "neox-untied")  # BERT ties its MLM decoder (and has a bias)
    auto = AutoModelForMaskedLM if kind == "bert-mlm" else AutoModelForCausalLM
    reloaded = auto.from_pretrained(tmp_path / "base")
    assert (tmp_path / "base" / "model.safetensors").exists()
    for a, b in zip(model.state_dict().values(), reloaded.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_check_prompt_failure_names_the_answer(tiny_models, tmp_path):
    cfg = BaseModelConfig(name_or_path=str(tiny_models["llama-tied"]), check_prompt="Die", check_answer="Paris")
    with pytest.raises(ModelLoadError, match="lacks 'Paris'"):
        prepare_base_model(cfg, tmp_path / "base")
    assert not (tmp_path / "base").exists()


def test_missing_and_corrupt_model_folders(tmp_path, tiny_models):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no config.json"):
        load_model(str(tmp_path / "empty"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="cannot load the model"):
        load_model(str(broken))


def test_gguf_that_fails_to_parse(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 20)
    with pytest.raises(ModelLoadError, match="model.gguf: cannot parse the GGUF file"):
        load_model(str(bad))
