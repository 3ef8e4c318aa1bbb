"""WECHSEL's token embeddings: each target token a softmax-weighted mix of its nearest source tokens.

Both vocabularies live in one aligned word space (fastText subword vectors of the token strings, mapped with
alignment.py). For target token x with vector v_x, the k source tokens most cosine-similar to it get weights
softmax(similarity / temperature), and x's embedding is the weighted sum of their rows of the source model's
embedding matrix (Minixhofer et al. 2022: k 10, temperature 0.1). A token's string is its decoded text
without the pieces of characters it cuts (byte-level tokens may start or end inside a UTF-8 character),
stripped and lowercased as the word vectors were trained; a token with no whole character has no vector.
Leaves out: exact copies, tokens without a vector and special tokens (transfers/methods.py handles them).
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from tokshift.core.errors import InputError


def token_texts(tokenizer: PreTrainedTokenizerBase) -> list[str | None]:
    """Each token id's word-vector string, or None when it has none."""
    texts = []
    for tid in range(len(tokenizer)):
        text = tokenizer.decode([tid]).replace("\ufffd", "").strip().lower()
        texts.append(text or None)
    return texts


def token_vectors(tokenizer: PreTrainedTokenizerBase, model) -> tuple[np.ndarray, list[int]]:
    """fastText vectors [n, d] of the tokens that have one, and their ids (fastText gives zeros for a string
    with no known word or n-gram: such a token has no vector)."""
    texts = token_texts(tokenizer)
    ids = [tid for tid, text in enumerate(texts) if text is not None]
    vecs = np.stack([model.get_word_vector(texts[tid]) for tid in ids])
    keep = np.flatnonzero(np.abs(vecs).sum(axis=1) > 0)
    return vecs[keep], [ids[i] for i in keep]


def neighbours(target_vecs: torch.Tensor, source_vecs: torch.Tensor, k: int = 10, temperature: float = 0.1,
               batch: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """(source indices [n, k], weights [n, k]): each target vector's k most cosine-similar source vectors."""
    if target_vecs.shape[1] != source_vecs.shape[1]:
        raise InputError(f"wechsel: target vectors have {target_vecs.shape[1]} dimensions, source vectors "
                         f"{source_vecs.shape[1]}; they must live in one space")
    if not 1 <= k <= len(source_vecs) or temperature <= 0:
        raise InputError(f"wechsel: k must be in [1, {len(source_vecs)}] and temperature > 0, got {k}, {temperature}")
    unit = torch.nn.functional.normalize(source_vecs.float(), dim=1)
    nearest, weights = [torch.empty(0, k, dtype=torch.long)], [torch.empty(0, k)]  # no queries: nothing to mix
    for start in range(0, len(target_vecs), batch):
        queries = torch.nn.functional.normalize(target_vecs[start:start + batch].float(), dim=1)
        sims, idx = (queries @ unit.T).topk(k, dim=1)
        nearest.append(idx)
        weights.append(torch.softmax(sims / temperature, dim=1))
    return torch.cat(nearest), torch.cat(weights)


def mix(nearest: torch.Tensor, weights: torch.Tensor, base_mat: torch.Tensor) -> torch.Tensor:
    """[n, h]: the weighted sums of the chosen rows of base_mat."""
    return torch.einsum("bk,bkh->bh", weights, base_mat[nearest].float()).to(base_mat.dtype)


def wechsel_matrix(target_vecs: torch.Tensor, source_vecs: torch.Tensor, base_mat: torch.Tensor, k: int = 10,
                   temperature: float = 0.1, copies: dict[int, int] | None = None) -> torch.Tensor:
    """[V_target, h] embeddings from target_vecs [V_target, d] and source_vecs [V_source, d] (one aligned space)
    and base_mat [V_source, h]; copies: target id -> source id of tokens both vocabularies have."""
    if len(source_vecs) != len(base_mat):
        raise InputError(f"wechsel: {len(source_vecs)} source vectors for {len(base_mat)} embedding rows; they "
                         f"must match")
    out = mix(*neighbours(target_vecs, source_vecs, k, temperature), base_mat)
    for target_id, source_id in (copies or {}).items():
        out[target_id] = base_mat[source_id]
    return out
