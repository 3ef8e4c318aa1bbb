"""Embedding shards resume, and an index refuses embeddings it was not built from."""

from __future__ import annotations

import pytest

from tokshift.large_vocab.vocabulary import extend_vocabulary, pretoken_counts


def test_shards_resume_and_the_index_refuses_other_embeddings(base, tiny, corpus_file, tmp_path):
    import torch

    from tokshift.data.corpus import read_corpus
    from tokshift.large_vocab.evaluate import argmax_found, recall_at_k
    from tokshift.large_vocab.folder import embed_extra_tokens, output_matrix
    from tokshift.large_vocab.index import IndexConfig, IndexMismatchError, build_index, load_index

    model, _, hyper = tiny
    texts = read_corpus(corpus_file, split="train", lang="de").column("text").to_pylist()
    new = extend_vocabulary(pretoken_counts(texts, base), base, base.get_vocab_size() + 300, max_pieces=8)
    shards = embed_extra_tokens(hyper, new, base, tmp_path / "emb", shard_size=128)
    assert [p.name for p in shards] == ["emb-00000.safetensors", "emb-00001.safetensors", "emb-00002.safetensors"]
    kept = shards[0].stat().st_mtime_ns
    shards[1].unlink()  # as if killed while writing the second shard
    assert embed_extra_tokens(hyper, new, base, tmp_path / "emb", shard_size=128) == shards
    assert shards[1].exists() and shards[0].stat().st_mtime_ns == kept, "finished shards are not recomputed"

    matrix = output_matrix(model, shards)
    assert matrix.shape == (base.get_vocab_size() + len(new), model.config.hidden_size)
    torch.manual_seed(0)
    queries = torch.randn(50, matrix.shape[1])
    exact = IndexConfig(kind="Flat", mips_to_l2=False, whiten=False)
    build_index(matrix, exact, tmp_path / "flat")
    assert recall_at_k(load_index(tmp_path / "flat", matrix, exact), matrix, queries, 10) == 1.0
    l2 = IndexConfig(kind="Flat", whiten=False)  # inner product as L2: same order
    build_index(matrix, l2, tmp_path / "flat-l2")
    assert recall_at_k(load_index(tmp_path / "flat-l2", matrix, l2), matrix, queries, 10) > 0.99
    white = IndexConfig(kind="Flat")  # whitened coordinates: same inner products
    build_index(matrix, white, tmp_path / "flat-white", states=torch.randn(200, matrix.shape[1]) + 3)
    assert recall_at_k(load_index(tmp_path / "flat-white", matrix, white), matrix, queries, 10) > 0.99
    with pytest.raises(ValueError, match="index.whiten"):
        build_index(matrix, white, tmp_path / "no-states")
    hnsw = IndexConfig(kind="HNSW32", whiten=False)
    meta = build_index(matrix, hnsw, tmp_path / "hnsw")
    assert meta["rows"] == len(matrix) and meta["index_bytes"] > 0
    assert recall_at_k(load_index(tmp_path / "hnsw", matrix, hnsw), matrix, queries, 10) >= 0.9
    assert argmax_found(load_index(tmp_path / "flat", matrix, exact), matrix, queries, 1) == 1.0

    with pytest.raises(IndexMismatchError, match="other embeddings"):
        load_index(tmp_path / "hnsw", matrix * 1.01, hnsw)
    with pytest.raises(IndexMismatchError, match="rebuild"):
        load_index(tmp_path / "hnsw", matrix[:, :8], hnsw)
    with pytest.raises(FileNotFoundError, match="dvc repro vocab_index"):
        load_index(tmp_path / "missing", matrix, hnsw)
