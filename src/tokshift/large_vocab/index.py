"""A FAISS inner-product index over the output embeddings of a large vocabulary.

The index records a fingerprint of the embeddings it
was built from; loading it against other embeddings, or another width, is an error. Rows are
searched in query-whitened coordinates (tokshift.large_vocab.whiten) by L2 with a norm column, which orders
them exactly as the inner product with the query does.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tokshift.core.atomic import atomic_file
from tokshift.core.errors import InputError, MissingFileError, TokshiftError
from tokshift.core.params import check
from tokshift.large_vocab.whiten import Whitening

PAD_TO = 16
"""Index rows are zero-padded to a multiple of this width (a 576-wide model, whitened, with the norm column:
578 -> 592 = 74 PQ sub-spaces of 8)."""


class IndexMismatchError(TokshiftError, ValueError):
    """An index built for other embeddings (or another width) than the ones it is used with."""


@dataclass
class IndexConfig:
    kind: str = "IVF1024,Flat"
    """FAISS index_factory string over inner product (e.g. HNSW32, IVF1024,Flat, Flat)."""
    ef_search: int = 128
    """HNSW: candidates kept while searching (higher: better recall, slower)."""
    nprobe: int = 256
    """IVF: lists visited per query."""
    use_gpu: bool = True
    """Train and search the index on the GPU when the stage runs on CUDA and faiss-gpu is installed."""
    mips_to_l2: bool = True
    """Search inner products as L2 distances after appending sqrt(max_norm^2 - norm^2) to each row (0 to
    each query): graph indexes (HNSW) find the largest inner products poorly when row norms differ."""
    whiten: bool = True
    """Search in coordinates where the queries are centred and isotropic (whiten.py, fitted on hidden states of train
    text): anisotropic hidden states otherwise send IVF probes to the wrong lists."""
    whiten_floor: float = 1e-3
    """Whitening: smallest eigenvalue kept, as a fraction of the largest."""
    k_factor: int = 1
    """Kinds ending in RFlat: rows fetched per requested result from the compressed index and re-ranked by
    their exact distance (e.g. IVF1024,PQ74x4fs,RFlat with k_factor 8 for a 576-wide model)."""

    def __post_init__(self) -> None:
        check(bool(self.kind), "kind", "must name a FAISS index (e.g. HNSW32)")
        check(self.ef_search > 0 and self.nprobe > 0, "ef_search", "ef_search and nprobe must be > 0")
        check(self.k_factor >= 1, "k_factor", f"must be >= 1, got {self.k_factor}")
        check(0 < self.whiten_floor < 1, "whiten_floor", f"must be in (0, 1), got {self.whiten_floor}")


def fingerprint(matrix: torch.Tensor) -> str:
    return hashlib.sha256(matrix.contiguous().numpy().tobytes()).hexdigest()[:16]


class VocabIndex:
    """A FAISS index searched by inner product with the rows it was built from (queries [n, d] float32)."""

    def __init__(self, index, whitening: Whitening | None = None):
        self.index, self.whitening = index, whitening

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.whitening is not None:
            queries = self.whitening.transform_queries(queries)
        # the extra columns of the stored rows (norm completion, padding) are 0 in a query
        queries = np.pad(queries.astype(np.float32), ((0, 0), (0, self.index.d - queries.shape[1])))
        return self.index.search(np.ascontiguousarray(queries), k)

    def candidates(self, query: torch.Tensor, matrix: torch.Tensor, k: int,
                   bias: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The index's top-k rows for one query [d] and their exact scores (the ANN output layer)."""
        _, found = self.search(query.float().cpu().numpy()[None], k)
        cand = torch.from_numpy(found[0][found[0] >= 0]).long()
        scores = matrix[cand].float() @ query.float().cpu()
        return cand, scores if bias is None else scores + bias[cand]


def augment(data: np.ndarray) -> np.ndarray:
    """Rows with sqrt(max_norm^2 - norm^2) appended: L2 order to a 0-extended query = inner-product order."""
    norms = (data.astype(np.float64) ** 2).sum(1)
    extra = np.sqrt(np.maximum(norms.max() - norms, 0.0)).astype(np.float32)
    return np.ascontiguousarray(np.concatenate([data, extra[:, None]], axis=1))


def pad_columns(data: np.ndarray, multiple: int = PAD_TO) -> np.ndarray:
    """Zero columns up to a multiple of `multiple`: distances are unchanged, and PQ sub-spaces divide the width."""
    return np.ascontiguousarray(np.pad(data, ((0, 0), (0, -data.shape[1] % multiple))))


def gpu_faiss(cfg: IndexConfig, gpu: bool) -> bool:
    """Whether the index trains and searches on the GPU: asked for, a CUDA device in use, faiss-gpu installed."""
    try:
        import faiss
    except ImportError:
        return False
    return gpu and cfg.use_gpu and hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def build_index(matrix: torch.Tensor, cfg: IndexConfig, folder: Path, states: torch.Tensor | None = None,
                gpu: bool = False) -> dict:
    """FAISS index over `matrix` rows (inner product) into folder/index.faiss + index.json; returns its facts.

    `states` [n, d] are example queries (hidden states of training text) to fit the whitening on; `gpu`: the
    stage runs on CUDA (the index is trained and filled there when faiss-gpu is installed, then saved for the CPU).
    """
    import faiss

    if cfg.whiten and states is None:
        raise InputError("index.whiten needs example queries (hidden states) to fit on; pass states= or set "
                         "index.whiten: false")
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    data = matrix.float().contiguous().numpy()
    if cfg.whiten:
        whitening = Whitening.fit(states, cfg.whiten_floor)
        whitening.save(folder / "whiten.safetensors")
        data = whitening.transform_rows(matrix)
    if cfg.mips_to_l2:
        data = augment(data)
    data = pad_columns(data)
    index = faiss.index_factory(data.shape[1], cfg.kind,
                                faiss.METRIC_L2 if cfg.mips_to_l2 else faiss.METRIC_INNER_PRODUCT)
    on_gpu = gpu_faiss(cfg, gpu)
    if on_gpu:
        index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
    if not index.is_trained:
        index.train(data)
    index.add(data)
    if on_gpu:
        index = faiss.index_gpu_to_cpu(index)
    seconds = time.perf_counter() - start
    with atomic_file(folder / "index.faiss") as tmp:
        faiss.write_index(index, str(tmp))
    meta = {"kind": cfg.kind, "mips_to_l2": cfg.mips_to_l2, "whiten": cfg.whiten, "index_dim": int(index.d),
            "rows": int(matrix.shape[0]), "dim": int(matrix.shape[1]),
            "embeddings_sha256": fingerprint(matrix), "build_seconds": round(seconds, 2),
            "index_bytes": (folder / "index.faiss").stat().st_size}
    with atomic_file(folder / "index.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def load_index(folder: Path, matrix: torch.Tensor, cfg: IndexConfig, gpu: bool = False) -> VocabIndex:
    """The index in `folder`, checked against `matrix`, set up for search (on the GPU when `gpu`, asked for in
    cfg.use_gpu and faiss-gpu is installed)."""
    import faiss

    meta_file, index_file = folder / "index.json", folder / "index.faiss"
    if not meta_file.is_file() or not index_file.is_file():
        raise MissingFileError(f"{folder}: no vocabulary index (needs index.faiss and index.json); "
                                "run `dvc repro vocab_index` first")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    if meta["dim"] != matrix.shape[1] or meta["rows"] != matrix.shape[0]:
        raise IndexMismatchError(f"{folder}: index has {meta['rows']} x {meta['dim']}, the embeddings "
                                 f"{matrix.shape[0]} x {matrix.shape[1]}: built for other embeddings; rebuild it")
    if meta["embeddings_sha256"] != fingerprint(matrix):
        raise IndexMismatchError(f"{folder}: index was built from other embeddings (fingerprint "
                                 f"{meta['embeddings_sha256']} vs {fingerprint(matrix)}); rebuild it")
    index = faiss.read_index(str(index_file))
    if "HNSW" in cfg.kind:
        faiss.ParameterSpace().set_index_parameter(index, "efSearch", cfg.ef_search)
    if "IVF" in cfg.kind:
        faiss.ParameterSpace().set_index_parameter(index, "nprobe", cfg.nprobe)
        faiss.extract_index_ivf(index).parallel_mode = 1  # generation asks one query at a time: split its lists
    if cfg.kind.endswith("RFlat"):
        faiss.ParameterSpace().set_index_parameter(index, "k_factor_rf", cfg.k_factor)
    if gpu_faiss(cfg, gpu):
        index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
    whitening = Whitening.load(folder / "whiten.safetensors") if meta.get("whiten") else None
    return VocabIndex(index, whitening)
