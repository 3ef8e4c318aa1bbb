"""Losses of hypernetwork training, all through a *frozen* base model.

- lm_loss: the base model run on a batch tokenized with a sampled tokenizer, with the predicted
  embeddings swapped in by `torch.func.functional_call` (so gradients reach the hypernetwork, and
  logits span the sampled vocabulary). Causal LMs predict the next token; masked LMs 15% masked tokens.
- lexical_loss: MSE (in units of each matrix's std) to the base embeddings for sampled tokens that
  exist verbatim in the base vocabulary.
Leaves out: the paper's auxiliary losses beyond the lexical one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.func import functional_call
from transformers import PreTrainedModel

from tokshift.hypernet.model import Hypernetwork
from tokshift.model.embeddings import embedding_params, scaled


def is_causal(model: PreTrainedModel) -> bool:
    """A causal LM: a head over the vocabulary, not masked, not an encoder-decoder (BertModel-style encoders
    without a head are not)."""
    return (not getattr(model.config, "is_encoder_decoder", False) and "MaskedLM" not in type(model).__name__
            and model.get_output_embeddings() is not None)


def causal_ce(logits: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy (nats) over the real tokens of ids [B, T] (mask [B, T])."""
    labels = ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
    return F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels.flatten(), ignore_index=-100)


def lm_loss(model: PreTrainedModel, mats: dict[str, torch.Tensor], ids: torch.Tensor, mask: torch.Tensor,
            mask_id: int | None = None, special_ids: torch.Tensor | None = None,
            generator: torch.Generator | None = None, mlm_prob: float = 0.15) -> torch.Tensor:
    """Mean token cross-entropy (nats) of `model` on ids [B, T] (mask [B, T]) with embeddings `mats` [V_sample, d]."""
    params = embedding_params(model, mats)
    embeds = mats["input"][ids]
    if is_causal(model):
        logits = functional_call(model, params, (), {"inputs_embeds": scaled(model, embeds), "attention_mask": mask,
                                                     "use_cache": False},
                                tie_weights=False).logits
        return causal_ce(logits, ids, mask)
    if mask_id is None:
        raise ValueError("a masked LM needs a mask token in its tokenizer to be trained with (tokenizer.mask_token)")
    pick = torch.rand(ids.shape, generator=generator).to(ids.device) < mlm_prob
    pick &= mask.bool()
    if special_ids is not None:
        pick &= ~torch.isin(ids, special_ids.to(ids.device))
    if not pick.any():  # at least one masked token, so the loss is defined
        pick[0, 1 if ids.shape[1] > 1 else 0] = True
    embeds = torch.where(pick[..., None], mats["input"][mask_id].expand_as(embeds), embeds)
    logits = functional_call(model, params, (), {"inputs_embeds": scaled(model, embeds), "attention_mask": mask},
                             tie_weights=False).logits
    return F.cross_entropy(logits[pick].float(), ids[pick])


def lexical_loss(hyper: Hypernetwork, pred: dict[str, torch.Tensor], rows: torch.Tensor,
                 base_ids: torch.Tensor) -> torch.Tensor:
    """MSE between pred[name][rows] and the base's rows base_ids, per matrix in units of its std, averaged."""
    if len(rows) == 0:
        return pred["input"].sum() * 0.0
    losses = []
    for name in hyper.names:
        target = getattr(hyper, f"base_{name}")[base_ids.to(hyper.table.device)]
        std = getattr(hyper, f"std_{name}")
        losses.append(F.mse_loss(pred[name][rows.to(hyper.table.device)].float() / std, target / std))
    return torch.stack(losses).mean()


def check_terms(cfg, model: PreTrainedModel, bidirectional: bool) -> None:
    """Refuse objective terms (TrainConfig) the model cannot give, naming hypernet.objective."""
    terms = set(cfg.objective.split("+")) | ({"hidden"} if cfg.hidden_steps else set())
    kind, head = type(model).__name__, model.get_output_embeddings() is not None
    if bidirectional:
        if "segment" in terms:
            raise ValueError(f"hypernet.objective: 'segment' (next-segment likelihood) needs a causal LM; {kind} is "
                             f"an encoder: use hidden and/or pooled")
        if "lm" in terms and (not head or cfg.needs_teacher):
            raise ValueError(f"hypernet.objective: {kind} " + ("trains 'lm' (masked) alone, or hidden and/or pooled"
                             if head else "has no LM head: use hidden and/or pooled"))
    elif "pooled" in terms:
        raise ValueError(f"hypernet.objective: 'pooled' matches sentence embeddings of an encoder; {kind} is a causal "
                         f"LM: use lm, hidden and/or segment")
