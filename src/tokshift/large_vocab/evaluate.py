"""How good a large vocabulary is: tokens and bits per byte against the base, and its index's recall and speed.

Bits use the exact softmax over every row (not the index); recall@k and the argmax rate compare the
index's top-k with the exact inner-product top-k on real hidden states; latency is one query at a
time, as in generation. Leaves out: building the folder (folder.py).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tokshift.data.corpus import head_texts, split_texts
from tokshift.large_vocab.folder import VocabIndexConfig
from tokshift.large_vocab.index import VocabIndex
from tokshift.large_vocab.states import hidden_states
from tokshift.large_vocab.vocabulary import LargeVocab
from tokshift.model.score import ScoreConfig, bos_id, score_texts


def sample_queries(pool: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """A seeded random sample of `n` rows of `pool` (all of them, shuffled, when there are fewer)."""
    return pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))[:n]]


def exact(matrix: torch.Tensor) -> torch.autocast:
    """float32 also under the caller's bf16 autocast: the output layer the index is measured against is exact."""
    return torch.autocast(matrix.device.type, enabled=False)


def large_vocab_bits(states: list[torch.Tensor], ids: list[list[int]], matrix: torch.Tensor) -> float:
    """Bits of the next large-vocabulary token at every position, with the exact softmax over all rows."""
    total = 0.0
    with exact(matrix):
        for h, row in zip(states, ids, strict=True):
            logits = h[:-1].float() @ matrix.float().T
            total += F.cross_entropy(logits, torch.tensor(row[1:]), reduction="sum").item()
    return total / math.log(2)


def recall_at_k(index, matrix: torch.Tensor, queries: torch.Tensor, k: int) -> float:
    """Mean share of the exact top-k (by inner product) that the index returns in its top-k."""
    with exact(matrix):
        best = torch.topk(queries.float() @ matrix.float().T, k, dim=1).indices.numpy()
    _, found = index.search(np.ascontiguousarray(queries.float().numpy()), k)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(best, found, strict=True)]))


def argmax_found(index, matrix: torch.Tensor, queries: torch.Tensor, k: int) -> float:
    """Share of queries whose exact best row is among the index's top-k (then greedy decoding is exact)."""
    with exact(matrix):
        best = torch.argmax(queries.float() @ matrix.float().T, dim=1).numpy()
    _, found = index.search(np.ascontiguousarray(queries.float().numpy()), k)
    return float(np.mean([b in set(f) for b, f in zip(best, found, strict=True)]))


def output_latency(index, matrix: torch.Tensor, queries: torch.Tensor, k: int) -> dict[str, float]:
    """Seconds per query (one at a time, as in generation): ANN top-k + exact rescoring vs the full matmul + top-k."""
    ann = full = 0.0
    mat = matrix.float()
    with exact(matrix):  # as generation runs it: under autocast the full layer would recast 100k rows per query
        for q in queries.float():
            start = time.perf_counter()
            _, scores = index.candidates(q, mat, k)
            int(torch.argmax(scores))
            ann += time.perf_counter() - start
            start = time.perf_counter()
            torch.topk(mat @ q, k)
            full += time.perf_counter() - start
    n = max(1, len(queries))
    return {"ann_ms": round(1000 * ann / n, 4), "exact_ms": round(1000 * full / n, 4),
            "speedup": round(full / max(ann, 1e-12), 2)}


@torch.no_grad()
def evaluate_large_vocab(model: PreTrainedModel, tok: PreTrainedTokenizerBase, vocab: LargeVocab,
                         matrix: torch.Tensor, index: VocabIndex, corpus, cfg: VocabIndexConfig) -> dict:
    """Per eval language: bytes, base vs large tokens and bpb; over sampled queries: recall, argmax rate, latency."""
    per_lang, queries = {}, []
    for lang in cfg.eval_langs:
        sample = head_texts(split_texts(corpus, "test", lang, "vocab_index.eval_langs"), cfg.eval_max_bytes)
        n_bytes = sum(len(t.encode("utf-8")) for t in sample)
        states, ids = hidden_states(model, vocab, sample, bos_id(tok), window=2048)
        base_score = score_texts(model, tok, sample, ScoreConfig(window=2048, stride=2047, batch_tokens=2048))
        large_tokens = sum(len(i) - 1 for i in ids)
        per_lang[lang] = {
            "bytes": n_bytes, "base_tokens": base_score.n_tokens, "large_tokens": large_tokens,
            "token_reduction": round(1 - large_tokens / max(1, base_score.n_tokens), 4),
            "base_bpb": round(base_score.bpb, 4),
            "large_bpb": round(large_vocab_bits(states, ids, matrix) / n_bytes, 4)}
        queries += [s[:-1] for s in states]
    pool = sample_queries(torch.cat(queries), cfg.queries)
    return {f"recall_at_{cfg.k}": round(recall_at_k(index, matrix, pool, cfg.k), 4),
            f"argmax_in_top_{cfg.k}": round(argmax_found(index, matrix, pool, cfg.k), 4),
            "output_layer": output_latency(index, matrix, pool, cfg.k),
            "langs": per_lang}
