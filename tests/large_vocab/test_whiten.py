"""Whitening keeps inner products and lets IVF find what the queries look for."""

from __future__ import annotations

import pytest


def test_whitening_keeps_inner_products_and_lets_ivf_find_what_queries_look_for(tmp_path):
    import torch

    from tokshift.large_vocab.evaluate import recall_at_k
    from tokshift.large_vocab.index import IndexConfig, build_index, load_index
    from tokshift.large_vocab.whiten import Whitening

    torch.manual_seed(0)
    d = 32
    rows = torch.randn(4000, d) * torch.rand(4000, 1)
    spread = torch.randn(d, d) * torch.logspace(0, -2, d)

    def hidden(n: int) -> torch.Tensor:  # like a model's states: a large shared direction, anisotropic rest
        return 6 * torch.ones(d) + torch.randn(n, d) @ spread

    fit, queries = hidden(500), hidden(100)
    white = Whitening.fit(fit)
    assert torch.allclose(torch.from_numpy(white.transform_queries(queries.numpy()) @ white.transform_rows(rows).T),
                          queries @ rows.T, rtol=1e-3, atol=1e-2)
    assert torch.allclose(white.query.T @ white.rows, torch.eye(d), atol=1e-4)

    recall = {}
    for whiten in (False, True):
        cfg = IndexConfig(kind="IVF64,Flat", nprobe=4, whiten=whiten)
        build_index(rows, cfg, tmp_path / str(whiten), states=fit)
        recall[whiten] = recall_at_k(load_index(tmp_path / str(whiten), rows, cfg), rows, queries, 10)
    assert recall[True] >= 0.95 and recall[True] > recall[False] + 0.2, recall
    with pytest.raises(ValueError, match="at least 2 query states"):
        Whitening.fit(fit[:1])
