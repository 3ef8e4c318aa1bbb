"""FVT (Fast Vocabulary Transfer): each target token gets the mean base embedding of its spelling.

Tokens in the base vocabulary keep their embedding (exact copies); others average the embeddings of
their decomposition by the base tokenizer (byte-level tokens are decomposed as bytes). Special
tokens copy the base's (tokenization/specials.py). FVT is also the hypernetwork's starting point.
"""

from __future__ import annotations

import torch
from tokenizers import Tokenizer
from tqdm import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tokshift.model.embeddings import embedding_matrices
from tokshift.tokenization.specials import special_map
from tokshift.tokenization.spelling import decompose, same_alphabet


def fvt_plan(target: Tokenizer, base: Tokenizer) -> tuple[list[list[int]], dict[int, int]]:
    """For every target id, the base ids whose embeddings it averages; and target id -> base id of exact copies."""
    same_bytes = same_alphabet(target, base)
    base_vocab = base.get_vocab(with_added_tokens=True)
    plan: list[list[int]] = [[] for _ in range(target.get_vocab_size(with_added_tokens=True))]
    exact = {}
    for token, tid in tqdm(target.get_vocab(with_added_tokens=True).items(), desc="fvt", unit="tok", disable=None):
        if token in base_vocab:
            plan[tid] = [base_vocab[token]]
            exact[tid] = base_vocab[token]
        else:
            plan[tid] = decompose(token, target, base, same_bytes)
    return plan, exact


def apply_plan(plan: list[list[int]], base_mat: torch.Tensor, batch: int = 8192) -> torch.Tensor:
    """Row i = mean of base_mat[plan[i]] ([V, d] or, for a bias, [V]); an empty plan gets the overall mean."""
    out = torch.empty((len(plan), *base_mat.shape[1:]), dtype=base_mat.dtype)
    for start in range(0, len(plan), batch):
        rows = plan[start:start + batch]
        counts = torch.tensor([len(r) for r in rows], dtype=base_mat.dtype)
        flat = torch.tensor([i for r in rows for i in r], dtype=torch.long)
        owner = torch.repeat_interleave(torch.arange(len(rows)), counts.long())
        sums = torch.zeros((len(rows), *base_mat.shape[1:]), dtype=base_mat.dtype).index_add_(0, owner, base_mat[flat])
        chunk = sums / counts.clamp(min=1).view(-1, *([1] * (base_mat.dim() - 1)))
        chunk[counts == 0] = base_mat.mean(0)
        out[start:start + len(rows)] = chunk
    return out


def fvt_matrices(model: PreTrainedModel, target_hf: PreTrainedTokenizerBase,
                 base_hf: PreTrainedTokenizerBase) -> dict[str, torch.Tensor]:
    """FVT matrices for `target_hf` on `model`, special tokens copied from the base (float32, CPU)."""
    plan, _ = fvt_plan(target_hf.backend_tokenizer, base_hf.backend_tokenizer)
    specials = special_map(target_hf, base_hf)
    mats = {}
    for name, base_mat in embedding_matrices(model).items():
        mats[name] = apply_plan(plan, base_mat.float().cpu())
        for tid, bid in specials.items():
            mats[name][tid] = base_mat[bid]
    return mats
