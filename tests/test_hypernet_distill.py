"""Model-aware objectives: aligned boundaries, truncated forwards, hidden-state and segment distillation, batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tokshift.core.params import ParamsError, from_dict
from tokshift.data.corpus import read_corpus
from tokshift.heuristics.fvt import apply_plan, fvt_plan
from tokshift.hypernet.align import align_batch, boundary_ends
from tokshift.hypernet.batch import pad_rows
from tokshift.hypernet.config import TrainConfig
from tokshift.hypernet.distill import (
    decoder_layers,
    forward_states,
    hidden_loss,
    segment_logprobs,
    segment_loss,
    teacher_outputs,
)
from tokshift.hypernet.loop import Trainer
from tokshift.hypernet.sampler import SamplerConfig, SubstringCounts, sample_tokenizer
from tokshift.model.base import load_model
from tokshift.model.embeddings import embedding_matrices
from tokshift.tokenization.specials import special_strings

TEXTS = ["Die schönen Straßen der Stadt, und die Grüße.", "日本語の設定と文書", "ab  cd\n\tef 🙂 Ωμέγα"]


def test_boundary_ends_skip_tokens_inside_a_character():
    assert boundary_ends([(0, 3), (3, 5), (5, 10)]) == {3: 0, 5: 1, 10: 2}
    assert boundary_ends([(0, 1), (0, 1), (1, 2)]) == {1: 1, 2: 2}, "two bytes of one character: the second ends it"


@pytest.fixture(scope="module")
def base(tiny_models):
    model, tok = load_model(str(tiny_models["llama-tied"]))
    return model.requires_grad_(False), tok


def sampled(base_hf, seed: int = 0):
    counts = SubstringCounts(base_hf.backend_tokenizer, 6)
    for text in TEXTS:
        counts.update(text, 1)
    return sample_tokenizer(counts, base_hf.backend_tokenizer, special_strings(base_hf),
                            SamplerConfig(vocab_min=20, vocab_max=40), np.random.default_rng(seed))


def test_aligned_positions_have_read_the_same_text(base):
    """Up to every aligned position, and within every segment, both tokenizations spell the same text."""
    _, base_hf = base
    student_tok, teacher_tok = sampled(base_hf).tokenizer, base_hf.backend_tokenizer
    s_encs = student_tok.encode_batch(TEXTS, add_special_tokens=False)
    t_encs = teacher_tok.encode_batch(TEXTS, add_special_tokens=False)
    width = lambda encs: 1 + max(len(e.ids) for e in encs)  # noqa: E731
    align = align_batch([boundary_ends(e.offsets) for e in s_encs], [boundary_ends(e.offsets) for e in t_encs],
                        width(s_encs), width(t_encs))
    assert len(align.student) >= len(TEXTS), "at least every text's end is aligned"
    assert any(s != t for (_, s), (_, t) in zip(align.student.tolist(), align.teacher.tolist(), strict=True)), \
        "the two tokenizations differ"
    for (row, s), (_, t) in zip(align.student.tolist(), align.teacher.tolist(), strict=True):
        assert student_tok.decode(s_encs[row].ids[:s]) == teacher_tok.decode(t_encs[row].ids[:t])
    for k, (row, _) in enumerate(align.student.tolist()):
        s_ids = [s_encs[row].ids[p - 1] for p in torch.nonzero(align.student_segment[row] == k).flatten().tolist()]
        t_ids = [t_encs[row].ids[p - 1] for p in torch.nonzero(align.teacher_segment[row] == k).flatten().tolist()]
        assert s_ids and t_ids and student_tok.decode(s_ids) == teacher_tok.decode(t_ids)


def test_forward_states_is_the_models_own_hidden_state_and_can_stop_early(base):
    model, _ = base
    ids = torch.randint(0, model.config.vocab_size, (2, 7), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    ref = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    states, logits = teacher_outputs(model, ids, mask, 1, full=True)
    assert torch.allclose(states, ref.hidden_states[1]) and torch.allclose(logits, ref.logits)
    stopped, none = teacher_outputs(model, ids, mask, 1, full=False)
    assert none is None and torch.equal(stopped, states)
    assert len(decoder_layers(model)) == model.config.num_hidden_layers


def test_distillation_is_zero_on_the_base_tokenization_and_teaches_a_new_one(base):
    """Student = teacher gives 0 for both terms; a sampled tokenization with FVT embeddings does not, and the
    gradient of each term reaches the embeddings."""
    model, base_hf = base
    teacher_tok = base_hf.backend_tokenizer
    t_encs = teacher_tok.encode_batch(TEXTS, add_special_tokens=False)
    bos = base_hf.bos_token_id
    t_rows = [[bos, *e.ids] for e in t_encs]
    t_ids, t_mask = pad_rows(t_rows, bos)
    t_ends = [boundary_ends(e.offsets) for e in t_encs]
    same = align_batch(t_ends, t_ends, t_ids.shape[1], t_ids.shape[1])
    t_states, t_logits = teacher_outputs(model, t_ids, t_mask, 1, full=True)
    n = len(same.student)
    t_lp = segment_logprobs(t_logits, t_ids, same.teacher_segment, n)
    assert hidden_loss(t_states, t_states, same).item() == 0.0
    assert segment_loss(t_lp, t_lp).abs().item() < 1e-6
    nll = torch.nn.functional.cross_entropy(t_logits[:, :-1].flatten(0, 1), t_ids[:, 1:].flatten(), reduction="none")
    assert torch.allclose(-t_lp.sum(), (nll * t_mask[:, 1:].flatten()).sum(), atol=1e-3), \
        "segments partition the text: their log-probabilities sum to the sequence's"

    sample = sampled(base_hf)
    s_encs = sample.tokenizer.encode_batch(TEXTS, add_special_tokens=False)
    s_ids, s_mask = pad_rows([[sample.tokens.index(base_hf.bos_token), *e.ids] for e in s_encs], 0)
    plan, specials = fvt_plan(sample.tokenizer, teacher_tok)
    emb = apply_plan(plan, embedding_matrices(model)["input"])
    for tid, bid in specials.items():
        emb[tid] = embedding_matrices(model)["input"][bid]
    emb.requires_grad_(True)
    align = align_batch([boundary_ends(e.offsets) for e in s_encs], t_ends, s_ids.shape[1], t_ids.shape[1])
    name = dict(model.named_parameters())
    params = {[k for k in name if k.endswith("embed_tokens.weight")][0]: emb}
    s_states, s_logits = forward_states(model, {"inputs_embeds": emb[s_ids], "attention_mask": s_mask}, 1,
                                        stop=False, params=params)
    hid = hidden_loss(s_states, t_states, align)
    seg = segment_loss(segment_logprobs(s_logits, s_ids, align.student_segment, len(align.student)),
                       segment_logprobs(t_logits, t_ids, align.teacher_segment, len(align.student)))
    assert hid.item() > 0 and seg.item() > 0
    for term in (hid, seg):
        (grad,) = torch.autograd.grad(term, emb, retain_graph=True)
        assert grad.abs().sum() > 0


def trained_weights(tiny_models, corpus_file, **overrides):
    model, tok = load_model(str(tiny_models["llama-tied"]))
    docs = {lang: read_corpus(corpus_file, split="train", lang=lang).column("text").to_pylist()
            for lang in ("de", "ja")}
    cfg = from_dict(TrainConfig, {
        "steps": 3, "batch_size": 2, "seq_len": 16, "langs": ["de", "ja"], "lr": 0.01, "warmup_steps": 1,
        "model": {"n_layers": 1, "hidden": 16, "n_heads": 2},
        "sampler": {"vocab_min": 20, "vocab_max": 40, "cache_texts": 6, "max_piece_chars": 6}, **overrides}, "hypernet")
    trainer = Trainer(cfg, model, tok, docs)
    rows = []
    while trainer.step < cfg.steps:
        rows.append(trainer.lm_step(torch.Generator().manual_seed(trainer.step)))
        trainer.step += 1
    trainer.batches.close()
    return {k: v.clone() for k, v in trainer.core.state_dict().items()}, rows


@pytest.mark.parametrize("objective", ["lm", "hidden+segment"])
def test_background_batches_change_nothing(tiny_models, corpus_file, objective):
    ours, rows = trained_weights(tiny_models, corpus_file, objective=objective, prefetch=True)
    ref, _ = trained_weights(tiny_models, corpus_file, objective=objective, prefetch=False)
    assert all(torch.equal(ours[k], ref[k]) for k in ref)
    assert all(not np.isnan(r["hidden_loss"]) for r in rows) == (objective != "lm")


def test_hidden_warmup_then_objective(tiny_models, corpus_file):
    _, rows = trained_weights(tiny_models, corpus_file, objective="lm", hidden_steps=2)
    assert [np.isnan(r["lm_loss"]) for r in rows] == [True, True, False]
    assert [np.isnan(r["hidden_loss"]) for r in rows] == [False, False, True]


@pytest.mark.parametrize("field,value", [("objective", "lm+kl"), ("objective", "lm+lm"), ("objective", ""),
                                         ("hidden_layers", -1), ("hidden_steps", 999)])
def test_bad_objective_names_the_field(field, value):
    with pytest.raises(ParamsError, match=field):
        TrainConfig(**{field: value})


def test_masked_lm_refuses_distillation(tiny_models):
    model, tok = load_model(str(tiny_models["bert-mlm"]))
    with pytest.raises(ValueError, match="causal LM"):
        Trainer(TrainConfig(objective="hidden", langs=["de"]), model, tok, {"de": ["text"]})


def test_input_only_steps_embed_just_the_tokens_the_batch_uses(tiny_models, corpus_file):
    """A 'hidden' step renumbers the batch to its own tokens: fewer rows, the same hidden-state loss."""
    from tokshift.hypernet.batch import used_vocabulary

    sample = sampled(load_model(str(tiny_models["llama-tied"]))[1])
    n = sample.n_special
    ids, words = used_vocabulary(torch.tensor([[0, n + 7, n + 5, n + 7]]), sample)
    assert ids.tolist() == [[0, n + 1, n, n + 1]] and words == [sample.tokens[n + 5], sample.tokens[n + 7]]

    losses = {}
    for used_only in (True, False):
        model, tok = load_model(str(tiny_models["llama-tied"]))
        docs = {"de": read_corpus(corpus_file, split="train", lang="de").column("text").to_pylist()}
        trainer = Trainer(from_dict(TrainConfig, {"steps": 1, "batch_size": 2, "seq_len": 16, "langs": ["de"],
                                                  "objective": "hidden", "model": {"n_layers": 1, "hidden": 16,
                                                                                   "n_heads": 2}}, "hypernet"),
                          model, tok, docs)
        trainer.batches.maker.used_only = lambda step, flag=used_only: flag
        batch = trainer.batches.maker.make(0)
        trainer.batches.maker.make = lambda step, b=batch: b
        losses[used_only] = (trainer.lm_step(torch.Generator().manual_seed(0))["hidden_loss"], len(batch.pieces))
    assert losses[True][1] < losses[False][1]
    assert losses[True][0] == pytest.approx(losses[False][0], rel=1e-5)
