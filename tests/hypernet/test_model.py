"""The hypernetwork: FVT when untrained, batching invisible, exact copies on request."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer

from tests.helpers import hyper_for
from tokshift.heuristics.fvt import apply_plan, fvt_matrices, fvt_plan
from tokshift.hypernet.predict import tokenizer_matrices
from tokshift.model.base import load_model
from tokshift.model.embeddings import embedding_matrices
from tokshift.tokenization.pieces import decompose_tokens
from tokshift.tokenization.specials import special_map


@pytest.mark.parametrize("bf16", [False, True], ids=["float32", "bf16-autocast"])
@pytest.mark.parametrize("name", ["llama-tied", "neox-untied", "bert-mlm"])
def test_untrained_hypernetwork_is_fvt(tiny_models, tokenizers_dir, name, bf16):
    model, base = load_model(str(tiny_models[name]))
    target = AutoTokenizer.from_pretrained(tokenizers_dir / "ja-unigram-400")
    hyper = hyper_for(model, max_pieces=64)
    # training runs the hypernetwork under bf16 autocast on bf16-native CPUs and GPUs: FVT must stay exact there too
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        mats, info = tokenizer_matrices(hyper, target, base)
    plan, _ = fvt_plan(target.backend_tokenizer, base.backend_tokenizer)
    specials = special_map(target, base)
    assert set(mats) == set(embedding_matrices(model)), "one head per matrix: input, output if untied, bias"
    for key, base_mat in embedding_matrices(model).items():
        expected = apply_plan(plan, base_mat)
        for tid, bid in specials.items():
            assert torch.equal(mats[key][tid], base_mat[bid]), "special tokens copy the base"
            expected[tid] = base_mat[bid]
        torch.testing.assert_close(mats[key], expected, atol=1e-5, rtol=1e-5)
    assert info["truncated"] == 0


def test_bucketed_equals_unbucketed_and_batching_is_invisible(tiny_models, tokenizers_dir):
    model, base = load_model(str(tiny_models["neox-untied"]))
    hyper = hyper_for(model)
    for p in hyper.heads.parameters():  # a trained-looking network, not the zero-init identity
        torch.nn.init.normal_(p, std=0.1)
    target = AutoTokenizer.from_pretrained(tokenizers_dir / "ja-unigram-400").backend_tokenizer
    tokens = [t for t, _ in sorted(target.get_vocab().items(), key=lambda kv: kv[1])][3:]
    pieces = decompose_tokens(tokens, target, base.backend_tokenizer, hyper.cfg.max_pieces)
    whole = hyper.embed(pieces, batch_tokens=10**6, bucket=False)
    bucketed = hyper.embed(pieces, batch_tokens=64, bucket=True)  # a vocabulary too big for one batch
    tiny = hyper.embed(pieces, batch_tokens=7, bucket=False)
    for key in whole:
        torch.testing.assert_close(bucketed[key], whole[key], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(tiny[key], whole[key], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("copy_exact", [True, False])
def test_copy_exact_keeps_base_rows_of_known_tokens(tiny_models, tokenizers_dir, copy_exact):
    model, base = load_model(str(tiny_models["llama-tied"]))
    hyper = hyper_for(model, copy_exact=copy_exact)
    torch.nn.init.normal_(hyper.heads["input"].weight, std=0.1)
    torch.nn.init.normal_(hyper.heads["input"].bias, std=0.1)
    target = AutoTokenizer.from_pretrained(tokenizers_dir / "ja-unigram-400")
    mats, _ = tokenizer_matrices(hyper, target, base)
    base_vocab, emb = base.get_vocab(), embedding_matrices(model)["input"]
    known = [(tid, base_vocab[t]) for t, tid in target.get_vocab().items()
             if t in base_vocab and tid not in special_map(target, base)]
    assert known, "the test tokenizers share tokens with the base"
    same = [torch.equal(mats["input"][tid], emb[bid]) for tid, bid in known]
    assert all(same) if copy_exact else not any(same)



def test_untie_gives_a_tied_model_an_output_head_that_starts_from_fvt(tiny_models, tokenizers_dir):
    model, base = load_model(str(tiny_models["llama-tied"]))
    target = AutoTokenizer.from_pretrained(tokenizers_dir / "ja-unigram-400")
    hyper = hyper_for(model, max_pieces=64, untie=True)
    assert hyper.names == ["input", "output"] and hyper.table.shape[1] == 32, "the shared matrix is read once"
    mats, _ = tokenizer_matrices(hyper, target, base)
    fvt = fvt_matrices(model, target, base)
    assert set(fvt) == {"input"}
    for key in ("input", "output"):
        torch.testing.assert_close(mats[key], fvt["input"], atol=1e-5, rtol=1e-5)
    torch.nn.init.normal_(hyper.heads["output"].weight, std=0.1)  # the heads are separate: input stays FVT
    trained, _ = tokenizer_matrices(hyper, target, base)
    torch.testing.assert_close(trained["input"], fvt["input"], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(trained["output"], fvt["input"], atol=1e-3)
