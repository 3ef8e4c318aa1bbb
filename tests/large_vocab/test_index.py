"""The index's coordinates: a norm column turns inner-product order into L2 order; padding changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tokshift.core.errors import InputError
from tokshift.large_vocab.index import IndexConfig, augment, build_index, pad_columns


def test_the_norm_column_makes_l2_order_the_inner_product_order():
    gen = torch.Generator().manual_seed(0)
    rows = torch.randn(200, 12, generator=gen) * torch.rand(200, 1, generator=gen) * 3
    queries = torch.randn(5, 12, generator=gen)
    aug = augment(rows.numpy()).astype(np.float64)
    padded = np.pad(queries.numpy().astype(np.float64), ((0, 0), (0, 1)))
    l2 = ((padded[:, None, :] - aug[None]) ** 2).sum(-1)
    by_ip = np.argsort(-(queries @ rows.T).double().numpy(), axis=1)[:, :5]
    assert (np.argsort(l2, axis=1)[:, :5] == by_ip).all()


def test_padding_keeps_the_rows_and_aligns_the_width():
    rows = np.random.default_rng(0).standard_normal((4, 578)).astype(np.float32)
    padded = pad_columns(rows)
    assert padded.shape == (4, 592) and np.array_equal(padded[:, :578], rows) and not padded[:, 578:].any()


def test_whitening_without_example_queries_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="index.whiten needs example queries"):
        build_index(torch.randn(10, 4), IndexConfig(kind="Flat"), tmp_path)
