"""The wechsel method: tokens the base has copied, the rest mixed from their nearest base tokens in the aligned
word space, tokens without a word vector on FVT, special tokens as for every method; what it refuses."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file
from safetensors.torch import load_file
from transformers import AutoTokenizer

from tests.helpers import make_text
from tokshift.core.errors import InputError
from tokshift.heuristics.alignment import model_mean
from tokshift.heuristics.fvt import fvt_plan
from tokshift.heuristics.spaces import WechselConfig, load_space
from tokshift.heuristics.wechsel import mix, neighbours, token_vectors
from tokshift.heuristics.word_vectors import WordVectorConfig, load_vectors, train_vectors
from tokshift.tokenization.training import load_tokenizer
from tokshift.transfers.methods import transfer

# The tiny models speak de-bpe-400, so German is the source language here and Japanese the target.
SETTINGS = WechselConfig(languages=[], source="de", neighbours=3, temperature=0.1)


@pytest.fixture(scope="module")
def word_vectors(tmp_path_factory):
    """A spaces folder as build_spaces writes it, with the identity map (the two spaces taken as aligned)."""
    out = tmp_path_factory.mktemp("word_vectors")
    cfg = WordVectorConfig(dim=8, epochs=3, min_count=1, buckets=20000)
    for lang in ("de", "ja"):
        train_vectors([make_text(lang, 40, i) for i in range(60)], lang, out / f"{lang}.bin", cfg)
    save_file({"matrix": np.eye(8), "source_mean": model_mean(load_vectors(out / "de.bin")),
               "target_mean": model_mean(load_vectors(out / "ja.bin"))}, str(out / "ja.alignment.safetensors"),
              metadata={"source": "de"})
    return out


def test_wechsel_copies_shared_tokens_and_mixes_the_rest(tiny_models, tokenizers_dir, word_vectors, tmp_path):
    model_dir, target_dir = tiny_models["llama-tied"], tokenizers_dir / "ja-unigram-400"
    metrics = transfer(model_dir, target_dir, "wechsel", tmp_path / "t", word_vectors=word_vectors,
                       wechsel=SETTINGS)
    out = load_file(str(tmp_path / "t" / "embeddings.safetensors"))["input"]
    base = load_file(str(model_dir / "model.safetensors"))["model.embed_tokens.weight"].float()
    target, base_hf = AutoTokenizer.from_pretrained(target_dir), AutoTokenizer.from_pretrained(model_dir)
    _, exact = fvt_plan(load_tokenizer(target_dir), base_hf.backend_tokenizer)
    for tid, bid in exact.items():
        assert torch.equal(out[tid], base[bid])
    # A token the base lacks, recomputed from its k nearest base tokens in the aligned space.
    source, target_vectors, alignment = load_space(word_vectors, "de", "ja")
    src_vecs, src_ids = token_vectors(base_hf, source)
    tgt_vecs, tgt_ids = token_vectors(target, target_vectors)
    row = next(i for i, tid in enumerate(tgt_ids) if tid not in exact and tid not in target.all_special_ids)
    nearest, weights = neighbours(torch.from_numpy(alignment.target(tgt_vecs[row:row + 1])).float(),
                                  torch.from_numpy(alignment.source(src_vecs)).float(), k=3, temperature=0.1)
    expected = mix(torch.tensor(src_ids)[nearest], weights, base)[0]
    assert torch.allclose(out[tgt_ids[row]], expected, atol=1e-5)
    assert metrics["wechsel_mixed"] > 0 and metrics["exact_copies"] == len(exact)
    assert metrics["wechsel_mixed"] + metrics["wechsel_fvt_fallback"] + len(exact) <= metrics["vocab_size"]
    meta = json.loads((tmp_path / "t" / "transfer.json").read_text())
    assert meta["method"] == "wechsel" and meta["word_vectors"] == str(word_vectors)


def test_wechsel_refusals_are_one_line(tiny_models, tokenizers_dir, word_vectors, tmp_path):
    model_dir, target_dir = tiny_models["llama-tied"], tokenizers_dir / "ja-unigram-400"
    with pytest.raises(InputError, match="needs the aligned word vectors"):
        transfer(model_dir, target_dir, "wechsel", tmp_path / "a")
    with pytest.raises(InputError, match="'ja' is aligned to 'de', not to 'en'; set params.yaml: wechsel.source"):
        transfer(model_dir, target_dir, "wechsel", tmp_path / "b", word_vectors=word_vectors)
    with pytest.raises(InputError, match="records none"):  # a tokenizer folder tokshift did not train
        transfer(model_dir, model_dir, "wechsel", tmp_path / "c", word_vectors=word_vectors, wechsel=SETTINGS)
    both = tmp_path / "multi"
    shutil.copytree(target_dir, both)
    meta = next(p for p in both.iterdir() if p.name.startswith("tokshift") and p.suffix == ".json")
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "langs": ["ja", "de"]}))
    with pytest.raises(InputError, match=r"covers \['ja', 'de'\]; use fvt, focus or hypernet"):
        transfer(model_dir, both, "wechsel", tmp_path / "d", word_vectors=word_vectors, wechsel=SETTINGS)
    assert not any((tmp_path / name).exists() for name in "abcd")
