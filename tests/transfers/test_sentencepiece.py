"""Transfer to and from SentencePiece-style (Metaspace) tokenizers: an XLM-R-like encoder without byte fallback and a
Llama-2-like causal LM with it; every heuristic works, exports load with stock classes, and encoders keep pooling."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
from transformers import (
    AutoModel,
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

from tests.helpers import HEURISTICS_FAST
from tokshift.heuristics.fvt import fvt_plan
from tokshift.model.base import load_model
from tokshift.model.pooling import embed_texts, read_pooling
from tokshift.tokenization.spelling import unknown_id
from tokshift.transfers.export import export
from tokshift.transfers.folder import apply_transfer
from tokshift.transfers.methods import transfer

TEXTS = ["ein der die und sch ung", "ver ber ste gen lich keit auf"]


@pytest.mark.parametrize("method", [*HEURISTICS_FAST, "focus"])
def test_every_heuristic_moves_the_encoder_to_a_sentencepiece_tokenizer(tiny_e5, corpus_file, tmp_path, method):
    from tokshift.transfers.methods import focus_texts

    texts = focus_texts(corpus_file, tiny_e5["target"]) if method == "focus" else None
    transfer(tiny_e5["folder"], tiny_e5["target"], method, tmp_path / method, seed=0, train_texts=texts)
    mats = load_file(str(tmp_path / method / "embeddings.safetensors"))
    assert set(mats) == {"input"} and mats["input"].shape == (200, 64) and torch.isfinite(mats["input"]).all()
    model, _ = load_model(str(tiny_e5["folder"]))
    tok = apply_transfer(model, tmp_path / method)
    assert tok("auf")["input_ids"][0] == tok.bos_token_id  # the target wraps texts as <s> ... </s>, as XLM-R
    emb = embed_texts(model, tok, TEXTS, *read_pooling(tiny_e5["folder"]))
    assert emb.shape == (2, 64) and torch.isfinite(emb).all()


def test_fvt_spells_target_pieces_in_base_pieces_without_unknowns(tiny_e5):
    target = Tokenizer.from_file(str(tiny_e5["target"] / "tokenizer.json"))
    base = Tokenizer.from_file(str(tiny_e5["folder"] / "tokenizer.json"))
    plan, exact = fvt_plan(target, base)
    unk = unknown_id(base)
    spelled = [p for tid, p in enumerate(plan) if tid not in exact and p]
    assert spelled and all(unk not in p for p in spelled)  # both learnt from the same text: all spellable
    assert len(exact) > 20  # shared pieces ('▁ein', ...) are copied


def test_exported_encoder_loads_with_auto_model_and_keeps_its_pooling(tiny_e5, tmp_path):
    transfer(tiny_e5["folder"], tiny_e5["target"], "fvt", tmp_path / "t")
    out = export(tmp_path / "t", tmp_path / "full")
    model, tok = AutoModel.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    assert type(model).__name__ == "BertModel" and len(tok) == 200
    assert read_pooling(out) == ("mean", "query: ")
    assert "AutoModel.from_pretrained" in (out / "README.md").read_text(encoding="utf-8")
    ours, tok2 = load_model(str(tiny_e5["folder"]))
    tok2 = apply_transfer(ours, tmp_path / "t")
    assert torch.allclose(embed_texts(model, tok, TEXTS), embed_texts(ours, tok2, TEXTS), atol=1e-6)


@pytest.fixture(scope="module")
def llama2_like(corpus_file, tiny_e5, tmp_path_factory):
    """(a tiny Llama with a Llama-2-style tokenizer: SentencePiece Unigram with byte fallback and no ja pieces,
    a de target tokenizer with Llama-2's special tokens)."""
    from tokshift.tokenization.training import TokenizerConfig, train_tokenizer

    vocab = json.loads((tiny_e5["target"] / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    pieces = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0)] + [(f"<0x{b:02X}>", -30.0) for b in range(256)]
    pieces += [(p, s) for p, s in vocab if not p.startswith("<")]
    tok = Tokenizer(models.Unigram(pieces, unk_id=0, byte_fallback=True))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(pieces), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                         bos_token_id=1, eos_token_id=2))
    out = tmp_path_factory.mktemp("llama2")
    model.save_pretrained(out / "base")
    fast.save_pretrained(out / "base")
    train_tokenizer(corpus_file, TokenizerConfig(model="unigram", vocab_size=150, langs=["de"], byte_level=False,
                                                 special_tokens=["<unk>", "<s>", "</s>"], bos_token="<s>",
                                                 eos_token="</s>", unk_token="<unk>"), out / "de-sp-150")
    return out / "base", out / "de-sp-150"


def test_byte_fallback_base_spells_characters_it_lacks_as_bytes(llama2_like, tokenizers_dir):
    from tokshift.tokenization.training import load_tokenizer

    base = load_tokenizer(llama2_like[0])
    plan, exact = fvt_plan(load_tokenizer(tokenizers_dir / "ja-unigram-400"), base)  # byte-level ja target
    pieces = {base.id_to_token(i) for p in plan for i in p}
    assert any(p.startswith("<0x") for p in pieces) and "<unk>" not in pieces


@pytest.mark.parametrize("method", HEURISTICS_FAST)
def test_byte_fallback_causal_lm_transfers_and_exports(llama2_like, tmp_path, method):
    transfer(llama2_like[0], llama2_like[1], method, tmp_path / "t", seed=0)
    model = AutoModelForCausalLM.from_pretrained(export(tmp_path / "t", tmp_path / "full"))
    ids = AutoTokenizer.from_pretrained(tmp_path / "full")("ein der", return_tensors="pt")["input_ids"]
    assert torch.isfinite(model(ids).logits).all()


def test_a_byte_level_target_the_encoder_cannot_spell_is_named(tiny_e5, tokenizers_dir, tmp_path):
    from tokshift.tokenization.spelling import SpellingError

    with pytest.raises(SpellingError, match="ja-unigram-400: a byte-level tokenizer.*convention: xlm-r"):
        transfer(tiny_e5["folder"], tokenizers_dir / "ja-unigram-400", "fvt", tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_transfer_metrics_count_tokens_spelled_as_unknown(tiny_e5, tmp_path):
    metrics = transfer(tiny_e5["folder"], tiny_e5["target"], "fvt", tmp_path / "t")
    assert metrics["unknown_spellings"] == 0  # both learnt from the same text
