"""The ZeTT hypernetwork: decomposition, FVT-equivalent init, bucketed inference, sampler, losses, training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models
from transformers import AutoTokenizer

from tokshift.heuristics.fvt import apply_plan, fvt_plan
from tokshift.hypernet.folder import CheckpointMismatchError, base_fingerprint, load_hypernet, save_hypernet
from tokshift.hypernet.model import HypernetConfig, Hypernetwork
from tokshift.hypernet.objective import identity_loss, lm_loss
from tokshift.hypernet.predict import tokenizer_matrices
from tokshift.hypernet.sampler import SamplerConfig, SubstringCounts, sample_tokenizer
from tokshift.model.base import load_model
from tokshift.model.embeddings import embedding_matrices, param_names
from tokshift.tokenization.pieces import DecompositionError, decompose_tokens, pad_pieces
from tokshift.tokenization.specials import special_map


def hyper_for(model, **kw) -> Hypernetwork:
    torch.manual_seed(0)
    return Hypernetwork(HypernetConfig(n_layers=1, hidden=16, n_heads=2, **kw), embedding_matrices(model))


@pytest.mark.parametrize("name", ["llama-tied", "neox-untied", "bert-mlm"])
def test_untrained_hypernetwork_is_fvt(tiny_models, tokenizers_dir, name):
    model, base = load_model(str(tiny_models[name]))
    target = AutoTokenizer.from_pretrained(tokenizers_dir / "ja-unigram-400")
    hyper = hyper_for(model, max_pieces=64)
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


def test_truncation_is_counted():
    pieces = pad_pieces([[5], [7, 8, 9], [1, 2]], 2)
    assert pieces.ids.tolist() == [[5, -1], [7, 8], [1, 2]]
    assert pieces.lengths.tolist() == [1, 2, 2] and pieces.truncated == 1


def test_empty_and_unspellable_tokens(tiny_models):
    _, base = load_model(str(tiny_models["bert-mlm"]))
    base_tok = base.backend_tokenizer
    word = Tokenizer(models.WordLevel({"[UNK]": 0, "abc": 1, "": 2}, unk_token="[UNK]"))
    with pytest.raises(DecompositionError, match="empty-string token"):
        decompose_tokens(["abc", ""], word, base_tok, 7)
    # A base without the character: an error that names the tokens, or the mean embedding, counted.
    wordlevel_base = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    with pytest.raises(DecompositionError, match="cannot be spelled"):
        decompose_tokens(["a", "☃"], word, wordlevel_base, 7, unknown="error")
    pieces = decompose_tokens(["a", "☃"], word, wordlevel_base, 7)
    assert pieces.unknown == 1 and pieces.mean_rows.tolist() == [False, True]
    assert decompose_tokens(["a", "☃"], word, wordlevel_base, 7, unknown="unk").ids[1, 0] == 0


def test_sampled_tokenizer_encodes_any_text_and_keeps_specials(tiny_models):
    _, base = load_model(str(tiny_models["llama-tied"]))
    counts = SubstringCounts(base.backend_tokenizer, 8)
    for text in ["schöne Grüße aus der Stadt", "die Straße und die Stadt", "🙂 emoji ∑ math"]:
        counts.update(text, 1)
    cfg = SamplerConfig(vocab_min=20, vocab_max=30)
    specials = [base.bos_token, base.eos_token]
    sample = sample_tokenizer(counts, base.backend_tokenizer, specials, cfg, np.random.default_rng(0))
    assert sample.tokens[:2] == specials and sample.n_special == 2
    assert 20 + 256 <= len(sample.tokens) - 2 <= 30 + 256 + 30, "k pieces + every byte symbol + seen characters"
    text = "Straße ∑ 🙂 and text never seen: Ωμέγα 日本"
    enc = sample.tokenizer.encode(text, add_special_tokens=False)
    assert sample.tokenizer.decode(enc.ids) == text, "bytes are always in the vocabulary"
    assert base.bos_token_id not in enc.ids or sample.tokens[enc.ids[0]] != base.bos_token
    again = sample_tokenizer(counts, base.backend_tokenizer, specials, cfg, np.random.default_rng(0))
    assert again.tokens == sample.tokens, "seeded"


def test_counts_add_and_remove_exactly(tiny_models):
    _, base = load_model(str(tiny_models["llama-tied"]))
    counts = SubstringCounts(base.backend_tokenizer, 4)
    counts.update("aber aber", 1)
    assert counts.counts["Ġab"] == 1 and counts.counts["ab"] == 2  # 'aber' and 'Ġaber' pretokens
    counts.update("hallo", 1)
    counts.update("hallo", -1)
    assert "hal" not in counts.counts and counts.counts["ab"] == 2


@pytest.mark.parametrize("name", ["llama-tied", "neox-untied"])
def test_lm_loss_matches_the_model_and_reaches_the_hypernetwork(tiny_models, name):
    model, _ = load_model(str(tiny_models[name]))
    model.requires_grad_(False)
    ids = torch.randint(0, model.config.vocab_size, (2, 9), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mats = {k: v.clone() for k, v in embedding_matrices(model).items()}
    ours = lm_loss(model, mats, ids, mask)
    assert torch.allclose(ours, model(input_ids=ids, labels=ids).loss, atol=1e-5), "same loss as the model's own"
    hyper = hyper_for(model)
    torch.nn.init.normal_(hyper.heads["input"].weight, std=0.1)
    pieces = pad_pieces([[i] for i in range(model.config.vocab_size)], 7)
    loss = lm_loss(model, hyper(pieces.ids, pieces.lengths), ids, mask)
    loss.backward()
    assert hyper.proj.weight.grad is not None and hyper.proj.weight.grad.abs().sum() > 0
    assert set(param_names(model)) == set(embedding_matrices(model))


def test_identity_loss_is_zero_at_init(tiny_models):
    model, _ = load_model(str(tiny_models["neox-untied"]))
    hyper = hyper_for(model)
    assert identity_loss(hyper, hyper, 32, torch.Generator().manual_seed(0)).item() < 1e-10


def test_hypernetwork_folder_roundtrip_and_wrong_base(tiny_models, tmp_path):
    model, _ = load_model(str(tiny_models["neox-untied"]))
    hyper = hyper_for(model, langs=["de", "ja"])
    torch.nn.init.normal_(hyper.heads["input"].weight, std=0.1)
    save_hypernet(hyper, tmp_path, base_fingerprint(model))
    loaded = load_hypernet(tmp_path, model)
    pieces = pad_pieces([[3, 4], [5]], 7)
    torch.testing.assert_close(loaded(pieces.ids, pieces.lengths, "de")["input"],
                               hyper(pieces.ids, pieces.lengths, "de")["input"])
    other, _ = load_model(str(tiny_models["llama-tied"]))
    with pytest.raises(CheckpointMismatchError, match="another base model"):
        load_hypernet(tmp_path, other)
    meta = json.loads((tmp_path / "hypernet.json").read_text())
    meta["config"]["hidden"] = 32
    (tmp_path / "hypernet.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointMismatchError, match="do not fit"):
        load_hypernet(tmp_path, model)


def test_cli_transfer_with_hypernet_writes_a_stock_model(tiny_models, tokenizers_dir, tmp_path, capsys):
    from transformers import AutoModelForCausalLM

    from tokshift.cli import main as cli_main

    model, _ = load_model(str(tiny_models["llama-tied"]))
    hyper = hyper_for(model)
    torch.nn.init.normal_(hyper.heads["input"].weight, std=0.1)
    save_hypernet(hyper, tmp_path, base_fingerprint(model))
    args = ["transfer", "--model", str(tiny_models["llama-tied"]),
            "--tokenizer", str(tokenizers_dir / "ja-unigram-400"),
            "--method", "hypernet", "--hypernet", str(tmp_path), "--out", str(tmp_path / "t"),
            "--export", str(tmp_path / "m")]
    assert cli_main(args) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["vocab_size"] == 400
    meta = json.loads((tmp_path / "t" / "transfer.json").read_text())
    assert meta["method"] == "hypernet" and set(meta["pieces"]) == {"truncated", "unknown", "mean_pieces"}
    exported = AutoModelForCausalLM.from_pretrained(tmp_path / "m")
    tok = AutoTokenizer.from_pretrained(tmp_path / "m")
    target = AutoTokenizer.from_pretrained(tokenizers_dir / "ja-unigram-400")
    expected, _ = tokenizer_matrices(hyper, target, AutoTokenizer.from_pretrained(tiny_models["llama-tied"]))
    torch.testing.assert_close(exported.get_input_embeddings().weight, expected["input"])
    out = exported.generate(**tok("日本語", return_tensors="pt"), max_new_tokens=3, do_sample=False)
    assert out.shape[1] > 1
    # Without a hypernetwork folder, or with one for another base: one-line errors, exit 2.
    assert cli_main([*args[:7], "--out", str(tmp_path / "t2")]) == 2
    assert "needs a trained hypernetwork" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    neox, _ = load_model(str(tiny_models["neox-untied"]))
    save_hypernet(hyper_for(neox), other, base_fingerprint(neox))
    assert cli_main([*args[:7], "--hypernet", str(other), "--out", str(tmp_path / "t3")]) == 2
    assert "another base model" in capsys.readouterr().err


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


@pytest.mark.parametrize("field,value", [("ema_decay", 1.0), ("ema_decay", -0.1), ("lr", 0.0), ("identity_steps", 999)])
def test_bad_training_config_names_the_field(field, value):
    from tokshift.core.params import ParamsError
    from tokshift.hypernet.config import TrainConfig

    with pytest.raises(ParamsError, match=field):
        TrainConfig(**{field: value})
