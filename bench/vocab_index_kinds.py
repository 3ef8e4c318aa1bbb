"""Recall@k and per-query latency of FAISS index kinds on the real large-vocabulary output embeddings.

    python bench/vocab_index_kinds.py [--vocab-index storage/vocab_index] [--model storage/models/base]
                                      [--queries 300] [--k 20] [--langs de,ja,code] [--plain-ip]
                                      [--kinds "IVF1024,Flat@nprobe=128" "IVF1024,PQ74x4fs,RFlat@nprobe=256,k_factor=8"]

Queries are the base model's final hidden states on test text (as in generation); the whitening
(index.whiten, on unless a kind says @whiten=0) is fitted on hidden states of train text, as in the
stage. Each kind is timed against the exact full matmul + top-k in the same run (the speedup column is that ratio).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from tokshift.large_vocab.evaluate import output_latency, recall_at_k, sample_queries
from tokshift.large_vocab.folder import open_large_vocab
from tokshift.large_vocab.index import IndexConfig, build_index, load_index
from tokshift.large_vocab.states import split_query_states
from tokshift.model.base import load_model
from tokshift.model.score import bos_id

KINDS = ["HNSW32@ef_search=128,whiten=0", "HNSW32@ef_search=128", "HNSW32@ef_search=512",
         "IVF1024,Flat@nprobe=64,whiten=0", "IVF1024,Flat@nprobe=128,whiten=0",
         "IVF1024,Flat@nprobe=32", "IVF1024,Flat@nprobe=64", "IVF1024,Flat@nprobe=128", "IVF1024,Flat@nprobe=256"]


def parse_kind(spec: str) -> tuple[str, dict[str, int]]:
    """'IVF1024,Flat@nprobe=128,k_factor=4' -> ('IVF1024,Flat', {'nprobe': 128, 'k_factor': 4})."""
    kind, _, params = spec.partition("@")
    return kind, {k: int(v) for k, v in (p.split("=") for p in params.split(",") if p)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocab-index", default="storage/vocab_index")
    parser.add_argument("--model", default="storage/models/base")
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--out", default="/tmp/tokshift-index-kinds")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--langs", default="de,ja,code")
    parser.add_argument("--fit-langs", default="en,de,fr,es,ru,el,ja,zh,ko,code")
    parser.add_argument("--fit-bytes", type=int, default=1500, help="train bytes per language for the whitening")
    parser.add_argument("--kinds", nargs="+", default=KINDS, help="index_factory string[@param=value,...]")
    parser.add_argument("--plain-ip", action="store_true", help="also without inner product as L2")
    args = parser.parse_args()

    model, tok = load_model(args.model)
    model.eval()
    vocab, matrix, _ = open_large_vocab(args.vocab_index, model, tok.backend_tokenizer)

    def states(split: str, langs: str, max_bytes: int) -> torch.Tensor:
        return split_query_states(model, vocab, args.corpus, split, langs.split(","), max_bytes, bos_id(tok), "--langs")

    queries = sample_queries(states("test", args.langs, 4000), args.queries)
    fit = states("train", args.fit_langs, args.fit_bytes)  # as the stage fits the whitening
    print(f"{len(matrix):,} rows x {matrix.shape[1]}, {len(queries)} queries, k={args.k}")
    built = {}
    for kind, search in map(parse_kind, args.kinds):
        for mips in (True, False) if args.plain_ip else (True,):
            cfg = IndexConfig(kind=kind, mips_to_l2=mips, **search)
            folder = f"{args.out}/{kind.replace(',', '_')}-{mips}-{cfg.whiten}"
            if folder not in built:
                start = time.perf_counter()
                build_index(matrix, cfg, Path(folder), states=fit)
                built[folder] = time.perf_counter() - start
            index = load_index(Path(folder), matrix, cfg)
            lat = output_latency(index, matrix, queries, args.k)
            print(f"{kind:24s} {str(search):32s} mips_to_l2={mips!s:5s} build {built[folder]:6.1f} s  "
                  f"recall@{args.k} {recall_at_k(index, matrix, queries, args.k):.3f}  "
                  f"{lat['ann_ms']:7.3f} ms vs exact {lat['exact_ms']:7.3f} ms: {lat['speedup']:.1f}x")


if __name__ == "__main__":
    main()
