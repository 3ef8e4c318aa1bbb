"""WECHSEL's token embeddings: each target token a softmax-weighted mix of its nearest source tokens.

Both vocabularies live in one aligned word space (fastText subword vectors of the token strings, the target
space mapped onto the source one with procrustes.py). For target token x with vector v_x, the k source tokens
most cosine-similar to it get weights softmax(similarity / temperature), and x's embedding is the weighted
sum of their rows of the source model's embedding matrix (Minixhofer et al. 2022: k 10, temperature 0.1).
Tokens the source vocabulary also has are copied exactly. Leaves out: the word vectors and the alignment
(fastText, procrustes.py) and special tokens (transfers/methods.py handles them for every method).
"""

from __future__ import annotations

import torch

from tokshift.core.errors import InputError


def wechsel_matrix(target_vecs: torch.Tensor, source_vecs: torch.Tensor, base_mat: torch.Tensor, k: int = 10,
                   temperature: float = 0.1, copies: dict[int, int] | None = None,
                   batch: int = 1024) -> torch.Tensor:
    """[V_target, h] embeddings from target_vecs [V_target, d] and source_vecs [V_source, d] (one aligned space)
    and base_mat [V_source, h]; copies: target id -> source id of tokens both vocabularies have."""
    if target_vecs.shape[1] != source_vecs.shape[1] or len(source_vecs) != len(base_mat):
        raise InputError(f"wechsel: vectors of {target_vecs.shape[1]} and {source_vecs.shape[1]} dimensions, "
                         f"{len(source_vecs)} source vectors for {len(base_mat)} embedding rows; they must match")
    if not 1 <= k <= len(source_vecs) or temperature <= 0:
        raise InputError(f"wechsel: k must be in [1, {len(source_vecs)}] and temperature > 0, got {k}, {temperature}")
    unit = torch.nn.functional.normalize(source_vecs.float(), dim=1)
    out = torch.empty(len(target_vecs), base_mat.shape[1], dtype=base_mat.dtype)
    for start in range(0, len(target_vecs), batch):
        queries = torch.nn.functional.normalize(target_vecs[start:start + batch].float(), dim=1)
        sims, nearest = (queries @ unit.T).topk(k, dim=1)
        weights = torch.softmax(sims / temperature, dim=1)  # [batch, k]
        out[start:start + batch] = torch.einsum("bk,bkh->bh", weights, base_mat[nearest].float()).to(base_mat.dtype)
    for target_id, source_id in (copies or {}).items():
        out[target_id] = base_mat[source_id]
    return out
