"""Query whitening for inner-product search over an output layer.

A language model's final hidden states share a large common component (on SmolLM2-135M the mean
state has norm 43 against an average norm of 53), so every query points roughly the same way and
an IVF index clustered on the rows alone visits the wrong lists. With the queries' mean mu and
covariance C = U S U^T (fitted on hidden states of training text), an inner product is rewritten as

    q . x = [(q - mu) U S^-1/2, 1] . [x U S^1/2, mu . x]

exactly (up to float rounding), and in those coordinates the queries are centred and isotropic: the
index then spends its lists where the queries look. Eigenvalues below `floor` x the largest are
raised to it, so a direction the fitting states never vary in is not blown up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from tokshift.core.atomic import atomic_file
from tokshift.core.tensors import load_tensors


@dataclass
class Whitening:
    mean: torch.Tensor
    """[d] mean of the fitting queries."""
    query: torch.Tensor
    """[d, d] U S^-1/2: centred queries are multiplied by it."""
    rows: torch.Tensor
    """[d, d] U S^1/2: rows are multiplied by it (its product with query^T is the identity)."""

    @classmethod
    def fit(cls, states: torch.Tensor, floor: float = 1e-3) -> Whitening:
        """Whitening for queries like `states` [n, d] (n should well exceed d for a stable covariance)."""
        if states.ndim != 2 or len(states) < 2:
            raise ValueError(f"whitening needs a [n, d] matrix of at least 2 query states, got {tuple(states.shape)}")
        x = states.double()
        mean = x.mean(0)
        cov = (x - mean).T @ (x - mean) / len(x)
        eig, vec = torch.linalg.eigh(cov)
        eig = eig.clamp_min(float(eig.max()) * floor)
        return cls(mean.float(), (vec / eig.sqrt()).float(), (vec * eig.sqrt()).float())

    def transform_queries(self, queries: np.ndarray) -> np.ndarray:
        """[n, d] -> [n, d + 1] (the last column multiplies the rows' mu . x)."""
        q = (torch.from_numpy(np.asarray(queries, dtype=np.float32)) - self.mean) @ self.query
        return torch.cat([q, torch.ones(len(q), 1)], 1).numpy()

    def transform_rows(self, rows: torch.Tensor) -> np.ndarray:
        """[V, d] -> [V, d + 1]."""
        x = rows.float()
        return torch.cat([x @ self.rows, (x @ self.mean)[:, None]], 1).numpy()

    def save(self, path: Path) -> None:
        with atomic_file(path) as tmp:
            save_file({"mean": self.mean, "query": self.query.contiguous(), "rows": self.rows.contiguous()}, str(tmp))

    @classmethod
    def load(cls, path: Path) -> Whitening:
        t = load_tensors(path, "rebuild the index (`dvc repro vocab_index`)")
        return cls(t["mean"], t["query"], t["rows"])
