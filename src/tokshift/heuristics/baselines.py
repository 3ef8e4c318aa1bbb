"""The two reference points below FVT: random rows from the base's statistics or its own initialisation.

- mean: N(mean, std) of the base embeddings, per dimension, seeded.
- random: the base model's own initialisation scheme (`_init_weights`), seeded.
An LM-head bias gets the base bias's mean in both.
"""

from __future__ import annotations

import torch
from transformers import PreTrainedModel

BASELINES = ("mean", "random")


def baseline_matrix(method: str, name: str, base_mat: torch.Tensor, n: int, model: PreTrainedModel,
                    seed: int) -> torch.Tensor:
    """`n` rows of role `name` ('input', 'output' [n, d] or 'bias' [n]) by `method` (mean or random)."""
    if name == "bias":
        return torch.full((n,), float(base_mat.mean()))
    gen = torch.Generator().manual_seed(seed)
    if method == "mean":
        return base_mat.mean(0) + base_mat.std(0) * torch.randn(n, base_mat.shape[1], generator=gen)
    emb = torch.nn.Embedding(n, base_mat.shape[1])
    torch.manual_seed(seed)
    model._init_weights(emb)
    return emb.weight.detach()
