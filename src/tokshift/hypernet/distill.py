"""Model-aware objectives: the frozen base model on its own tokenization teaches the sampled tokenization.

- hidden_loss (aligned early-layer distillation, as in Model-Aware Tokenizer Transfer): the residual
  stream after the first L layers at aligned boundaries (align.py), student against teacher, as a
  normalised MSE (squared error over the teacher states' variance). The student can stop at layer L,
  so a step costs a fraction of a full causal-LM step.
- segment_loss (next-segment likelihood, in the spirit of approximate likelihood matching): the
  probability of the text between two aligned boundaries under the student against the teacher's,
  as the KL divergence of the two Bernoulli distributions (segment / anything else), a soft target
  in place of the one-hot next token.
- pooled_loss (encoders): the mean-pooled last states (the sentence embedding of e5-style models), student
  against teacher, as 1 - cosine: what a retrieval or classification task reads from the model. For a
  bidirectional model both tokenizations cover exactly the same text (batch.py cuts the student there).
- forward_states: a model's forward with the residual stream after layer L captured (and optionally
  nothing run above it), for any architecture whose blocks form one ModuleList.
- distill_terms: the terms a step trains, from one teacher pass and one student pass.
Leaves out: attention-output targets.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call
from transformers import PreTrainedModel

from tokshift.hypernet.align import Alignment
from tokshift.hypernet.batch import StepBatch
from tokshift.hypernet.objective import causal_ce
from tokshift.model.embeddings import embedding_params, scaled


class _Stop(Exception):
    """Raised by the layer hook to skip the layers above it."""


def decoder_layers(model: PreTrainedModel) -> nn.ModuleList:
    """The model's transformer blocks (the first ModuleList with config.num_hidden_layers entries)."""
    n = model.config.num_hidden_layers
    for module in model.modules():
        if isinstance(module, nn.ModuleList) and len(module) == n:
            return module
    raise ValueError(f"{type(model).__name__}: no list of {n} transformer blocks found for aligned distillation; "
                     "use hypernet.objective=lm")


def default_layers(model: PreTrainedModel) -> int:
    """A third of the depth (where the aligned-distillation gain saturates), at least one block."""
    return max(1, round(model.config.num_hidden_layers / 3))


def forward_states(model: PreTrainedModel, inputs: dict, layers: int, stop: bool,
                   params: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(residual stream after `layers` blocks [B, T, d], logits or None when `stop` skips the blocks above).

    `params` replace the model's own by name (torch.func.functional_call), e.g. predicted embeddings.
    """
    captured = {}

    def hook(_module, _args, output):
        captured["h"] = output[0] if isinstance(output, tuple) else output
        if stop:
            raise _Stop

    handle = decoder_layers(model)[layers - 1].register_forward_hook(hook)
    try:
        out = functional_call(model, params or {}, (), {**inputs, "use_cache": False}, tie_weights=False)
        logits = getattr(out, "logits", None)  # an encoder without a head has none
    except _Stop:
        logits = None
    finally:
        handle.remove()
    return captured["h"], logits


def hidden_loss(student: torch.Tensor, teacher: torch.Tensor, align: Alignment) -> torch.Tensor:
    """Squared error of the aligned student states over the teacher's total variance there (0 = identical)."""
    s = student[align.student[:, 0], align.student[:, 1]].float()
    t = teacher[align.teacher[:, 0], align.teacher[:, 1]].float()
    if len(t) == 0:
        return student.sum() * 0.0
    return (s - t).pow(2).sum() / (t - t.mean(0)).pow(2).sum().clamp(min=1e-6)


def pooled_loss(student: torch.Tensor, mask: torch.Tensor, teacher: torch.Tensor,
                teacher_mask: torch.Tensor) -> torch.Tensor:
    """Mean over texts of 1 - cos(mean of the student's states, mean of the teacher's) ([B, T, d] + [B, T] masks)."""
    def mean(states, m):
        w = m.unsqueeze(-1).to(states.dtype)
        return ((states * w).sum(1) / w.sum(1).clamp(min=1)).float()

    return (1 - torch.nn.functional.cosine_similarity(mean(student, mask), mean(teacher, teacher_mask), dim=-1)).mean()


def segment_logprobs(logits: torch.Tensor, ids: torch.Tensor, segment: torch.Tensor, n: int) -> torch.Tensor:
    """[n] log-probability of each aligned segment: the sum over its tokens (token at t scored by logits at t-1)."""
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    seg = segment[:, 1:]
    keep = seg >= 0
    return torch.zeros(n, device=logits.device).index_add(0, seg[keep], logp[keep])


def segment_loss(student_lp: torch.Tensor, teacher_lp: torch.Tensor) -> torch.Tensor:
    """Mean KL(Bernoulli(p_teacher) || Bernoulli(p_student)) over segments, from log-probabilities."""
    if len(teacher_lp) == 0:
        return student_lp.sum() * 0.0
    t, s = teacher_lp.clamp(max=-1e-6), student_lp.clamp(max=-1e-6)
    p = t.exp()
    log1m = lambda x: torch.log(-torch.expm1(x))  # noqa: E731  log(1 - e^x), exact for x near 0
    return (p * (t - s) + (1 - p) * (log1m(t) - log1m(s))).mean()


@torch.no_grad()
def teacher_outputs(model: PreTrainedModel, ids: torch.Tensor, mask: torch.Tensor, layers: int,
                    full: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The base model on its own tokenization: (states after `layers` blocks, logits when `full`)."""
    return forward_states(model, {"input_ids": ids, "attention_mask": mask}, layers, stop=not full)


def distill_terms(model: PreTrainedModel, batch: StepBatch, mats: dict[str, torch.Tensor], ids: torch.Tensor,
                  mask: torch.Tensor, terms: set[str], layers: int) -> dict[str, torch.Tensor]:
    """The terms of `terms` (lm, hidden, pooled, segment) with `model` on its own tokenization as the teacher and
    the embeddings `mats` of the sampled tokenization (ids, mask) in the student."""
    dev, align = ids.device, batch.align
    t_ids, t_mask = batch.teacher_ids.to(dev), batch.teacher_mask.to(dev)
    t_states, t_logits = teacher_outputs(model, t_ids, t_mask, layers, full="segment" in terms)
    full = bool(terms & {"lm", "segment"})  # only 'hidden': the student stops at the aligned layer
    student = {"inputs_embeds": scaled(model, mats["input"][ids]), "attention_mask": mask}
    s_states, s_logits = forward_states(model, student, layers, stop=not full, params=embedding_params(model, mats))
    out = {}
    if "lm" in terms:
        out["lm"] = causal_ce(s_logits, ids, mask)
    if "hidden" in terms:
        out["hidden"] = hidden_loss(s_states, t_states, align)
    if "pooled" in terms:
        out["pooled"] = pooled_loss(s_states, mask, t_states, t_mask)
    if "segment" in terms:
        n = len(align.student)
        out["segment"] = segment_loss(segment_logprobs(s_logits, ids, align.student_segment.to(dev), n),
                                      segment_logprobs(t_logits, t_ids, align.teacher_segment.to(dev), n))
    return out
