"""Heuristic transfer: FVT copies or averages base embeddings; exports load with stock transformers."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

from tokshift.model.base import load_model
from tokshift.model.embeddings import embedding_matrices
from tokshift.tokenization.specials import SpecialTokenError
from tokshift.transfers.export import export
from tokshift.transfers.methods import transfer

METHODS = ("fvt", "mean", "random")  # focus has tests of its own (it trains fastText)


@pytest.fixture(scope="module")
def ja_transfers(tiny_models, tokenizers_dir, tmp_path_factory):
    """The tied tiny Llama (de-bpe-400 tokenizer) moved onto ja-unigram-400 with every method."""
    root = tmp_path_factory.mktemp("transfer")
    for method in METHODS:
        transfer(tiny_models["llama-tied"], tokenizers_dir / "ja-unigram-400", method, root / method, seed=3)
    return root


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


def test_special_tokens_take_the_base_embeddings(ja_transfers, tiny_models):
    model, base = load_model(str(tiny_models["llama-tied"]))
    base_emb = model.get_input_embeddings().weight.detach()
    for method in METHODS:
        new = load_file(str(ja_transfers / method / "embeddings.safetensors"))["input"]
        for token in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"):
            assert torch.equal(new[AutoTokenizer.from_pretrained(ja_transfers / method).convert_tokens_to_ids(token)],
                               base_emb[base.convert_tokens_to_ids(token)])


def test_mean_and_random_are_seeded_and_differ(ja_transfers, tiny_models, tokenizers_dir, tmp_path):
    again = transfer(tiny_models["llama-tied"], tokenizers_dir / "ja-unigram-400", "mean", tmp_path / "m", seed=3)
    assert again["vocab_size"] == 400
    first = load_file(str(ja_transfers / "mean" / "embeddings.safetensors"))["input"]
    assert torch.equal(first, load_file(str(tmp_path / "m" / "embeddings.safetensors"))["input"])
    rand = load_file(str(ja_transfers / "random" / "embeddings.safetensors"))["input"]
    assert not torch.allclose(first, rand)
    assert rand[10:].std().item() == pytest.approx(0.02, rel=0.2)  # Llama's initializer_range


def test_untied_and_biased_heads_are_transferred(tiny_models, tokenizers_dir, tmp_path):
    transfer(tiny_models["neox-untied"], tokenizers_dir / "ja-unigram-400", "fvt", tmp_path / "neox")
    mats = load_file(str(tmp_path / "neox" / "embeddings.safetensors"))
    assert set(mats) == {"input", "output"} and not torch.allclose(mats["input"], mats["output"])
    transfer(tiny_models["bert-mlm"], tokenizers_dir / "ja-unigram-400", "fvt", tmp_path / "bert")
    mats = load_file(str(tmp_path / "bert" / "embeddings.safetensors"))
    assert set(mats) == {"input", "bias"} and mats["bias"].shape == (400,)
    bert = AutoModelForMaskedLM.from_pretrained(export(tmp_path / "bert", tmp_path / "bert-full"))
    assert torch.equal(bert.get_output_embeddings().bias.detach(), mats["bias"])


@pytest.mark.parametrize("method", METHODS)
def test_export_loads_with_stock_transformers_and_generates(ja_transfers, tmp_path, method):
    out = export(ja_transfers / method, tmp_path / method)
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert model.get_input_embeddings().weight.shape[0] == len(tok) == model.config.vocab_size == 400
    assert model.config.eos_token_id == tok.eos_token_id == tok.convert_tokens_to_ids("<|endoftext|>")
    ids = model.generate(**tok("日本語の", return_tensors="pt"), max_new_tokens=5, do_sample=False)
    assert ids.shape[1] > 1
    header = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    assert header["method"] == method and header["target_tokenizer"].endswith("ja-unigram-400")
    assert header["library_name"] == "transformers" and header["language"] == ["ja"]
    assert torch.equal(model.get_input_embeddings().weight.detach(),
                       load_file(str(ja_transfers / method / "embeddings.safetensors"))["input"])


def test_special_token_the_base_lacks(tiny_models, tokenizers_dir, tmp_path):
    tok = AutoTokenizer.from_pretrained(tokenizers_dir / "ja-unigram-400")
    tok.add_special_tokens({"additional_special_tokens": ["<|tool_call|>"]})
    tok.save_pretrained(tmp_path / "tok")
    with pytest.raises(SpecialTokenError, match=r"'<\|tool_call\|>'.*no counterpart in the base model"):
        transfer(tiny_models["llama-tied"], tmp_path / "tok", "fvt", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_embedding_matrices_shapes(tiny_models):
    model, _ = load_model(str(tiny_models["neox-untied"]))
    assert {k: tuple(v.shape) for k, v in embedding_matrices(model).items()} == {"input": (400, 32),
                                                                              "output": (400, 32)}
    meta = json.loads((tiny_models["neox-untied"] / "config.json").read_text())
    assert meta["tie_word_embeddings"] is False


def test_focus_copies_overlap_and_fills_the_rest(tiny_models, tokenizers_dir, corpus_file, tmp_path):
    from tokshift.data.corpus import read_corpus

    texts = read_corpus(corpus_file, split="train", lang="ja").column("text").to_pylist()
    metrics = transfer(tiny_models["llama-tied"], tokenizers_dir / "ja-unigram-400", "focus", tmp_path / "f",
                       train_texts=texts)
    model, base = load_model(str(tiny_models["llama-tied"]))
    base_emb = model.get_input_embeddings().weight.detach()
    new = load_file(str(tmp_path / "f" / "embeddings.safetensors"))["input"]
    target = AutoTokenizer.from_pretrained(tmp_path / "f")
    shared = [(tid, base.get_vocab()[tok]) for tok, tid in target.get_vocab().items() if tok in base.get_vocab()]
    assert len(shared) == metrics["exact_copies"] > 0
    for tid, bid in shared:
        assert torch.allclose(new[tid], base_emb[bid], atol=1e-6)
    assert torch.isfinite(new).all() and new.shape == (400, 32)


def test_focus_without_text_is_a_clear_error(tiny_models, tokenizers_dir, tmp_path):
    with pytest.raises(ValueError, match="focus needs training text"):
        transfer(tiny_models["llama-tied"], tokenizers_dir / "ja-unigram-400", "focus", tmp_path / "f")


def test_cli_export_puts_evaluation_metrics_in_the_model_card(ja_transfers, tmp_path):
    from tokshift.cli import main as cli_main

    metrics = tmp_path / "evaluate.json"
    metrics.write_text(json.dumps({"ja-unigram-400/fvt": {"ja": {"bpb": 1.23, "tokens": 10}}}))
    assert cli_main(["export", str(ja_transfers / "fvt"), "--out", str(tmp_path / "m"), "--metrics", str(metrics),
                     "--bf16"]) == 0
    header = yaml.safe_load((tmp_path / "m" / "README.md").read_text().split("---")[1])
    assert header["metrics"] == {"ja": {"bpb": 1.23, "tokens": 10}}
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "m").dtype == torch.bfloat16


def test_export_of_a_folder_that_is_not_a_transfer(tmp_path):
    from tokshift.core.errors import MissingFileError

    with pytest.raises(MissingFileError, match="not a transfer folder"):
        export(tmp_path, tmp_path / "out")
