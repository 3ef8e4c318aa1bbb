"""Large-vocabulary measures: recall against the exact top-k, bits from the exact softmax, seeded query samples."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tokshift.large_vocab.evaluate import argmax_found, large_vocab_bits, recall_at_k, sample_queries
from tokshift.large_vocab.index import IndexConfig, build_index, load_index

# the stage runs the model under bf16 autocast on bf16-native CPUs: the exact reference must stay float32 there
under_autocast = pytest.mark.parametrize("bf16", [False, True], ids=["float32", "bf16-autocast"])


@under_autocast
def test_an_exact_index_has_full_recall(tmp_path, bf16):
    gen = torch.Generator().manual_seed(0)
    matrix, queries = torch.randn(3000, 64, generator=gen), torch.randn(50, 64, generator=gen)
    cfg = IndexConfig(kind="Flat", mips_to_l2=False, whiten=False)
    build_index(matrix, cfg, tmp_path)
    index = load_index(tmp_path, matrix, cfg)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        assert recall_at_k(index, matrix, queries, 20) == 1.0 and argmax_found(index, matrix, queries, 1) == 1.0
        assert recall_at_k(index, -matrix, queries, 20) < 0.5, "against other rows the recall drops"


@under_autocast
def test_bits_are_the_next_token_cross_entropy_over_every_row(bf16):
    gen = torch.Generator().manual_seed(1)
    matrix, states = torch.randn(50, 8, generator=gen) * 8, [torch.randn(5, 8, generator=gen)]
    expected = F.cross_entropy(states[0][:-1] @ matrix.T, torch.tensor([2, 3, 4, 5]), reduction="sum") / math.log(2)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        assert large_vocab_bits(states, [[1, 2, 3, 4, 5]], matrix) == pytest.approx(expected.item(), rel=1e-6)


def test_query_samples_are_seeded():
    pool = torch.arange(20.0)[:, None]
    assert torch.equal(sample_queries(pool, 5, seed=1), sample_queries(pool, 5, seed=1))
    assert not torch.equal(sample_queries(pool, 5, seed=1), sample_queries(pool, 5, seed=2))
    assert sorted(sample_queries(pool, 50).flatten().tolist()) == pool.flatten().tolist()
