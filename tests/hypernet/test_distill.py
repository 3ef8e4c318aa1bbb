"""Model-aware objectives: hidden states and segment probabilities of the base as the teacher."""

from __future__ import annotations

import torch

from tests.helpers import TEXTS, sampled
from tokshift.heuristics.fvt import apply_plan, fvt_plan
from tokshift.hypernet.align import align_batch, boundary_ends
from tokshift.hypernet.batch import pad_rows
from tokshift.hypernet.distill import (
    decoder_layers,
    forward_states,
    hidden_loss,
    segment_logprobs,
    segment_loss,
    teacher_outputs,
)
from tokshift.model.embeddings import embedding_matrices


def test_forward_states_is_the_models_own_hidden_state_and_can_stop_early(frozen_llama):
    model, _ = frozen_llama
    ids = torch.randint(0, model.config.vocab_size, (2, 7), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    ref = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    states, logits = teacher_outputs(model, ids, mask, 1, full=True)
    assert torch.allclose(states, ref.hidden_states[1]) and torch.allclose(logits, ref.logits)
    stopped, none = teacher_outputs(model, ids, mask, 1, full=False)
    assert none is None and torch.equal(stopped, states)
    assert len(decoder_layers(model)) == model.config.num_hidden_layers


def test_distillation_is_zero_on_the_base_tokenization_and_teaches_a_new_one(frozen_llama):
    """Student = teacher gives 0 for both terms; a sampled tokenization with FVT embeddings does not, and the
    gradient of each term reaches the embeddings."""
    model, base_hf = frozen_llama
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
