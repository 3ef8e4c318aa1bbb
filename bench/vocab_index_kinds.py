"""Recall@k and per-query latency of FAISS index kinds on the real large-vocabulary output embeddings.

    python bench/vocab_index_kinds.py [--vocab-index storage/vocab_index] [--model storage/models/base]
                                      [--queries 300] [--k 20] [--lang de]

Queries are the base model's final hidden states on test text (as in generation). Each kind is
timed against the exact full matmul + top-k in the same run (the speedup column is that ratio).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from tokshift.base_model import load_model
from tokshift.corpus import read_corpus
from tokshift.evaluate import bos_id, capped_texts
from tokshift.large_generate import hidden_states, open_large_vocab
from tokshift.vocab_index import IndexConfig, build_index, load_index, output_latency, recall_at_k

KINDS = [("HNSW32", {"ef_search": 128}), ("HNSW32", {"ef_search": 512}), ("HNSW32", {"ef_search": 2048}),
         ("IVF1024,Flat", {"nprobe": 64}), ("IVF1024,Flat", {"nprobe": 128}), ("IVF1024,Flat", {"nprobe": 256})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocab-index", default="storage/vocab_index")
    parser.add_argument("--model", default="storage/models/base")
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--out", default="/tmp/tokshift-index-kinds")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--langs", default="de,ja,code")
    args = parser.parse_args()

    model, tok = load_model(args.model)
    model.eval()
    vocab, matrix, _ = open_large_vocab(args.vocab_index, model, tok.backend_tokenizer)
    states = []
    with torch.no_grad():
        for lang in args.langs.split(","):
            docs = read_corpus(args.corpus, split="test", lang=lang).sort_by("doc_id").column("text").to_pylist()
            texts = [d.encode()[:1000].decode("utf-8", "ignore") for d in capped_texts(docs, 4000)]
            hs, _ = hidden_states(model, vocab, texts, bos_id(tok), window=2048)
            states += [h[:-1] for h in hs]
    pool = torch.cat(states)
    queries = pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(0))[:args.queries]]
    print(f"{len(matrix):,} rows x {matrix.shape[1]}, {len(queries)} queries, k={args.k}")
    built = {}
    for kind, search in KINDS:
        for mips in (True, False):
            cfg = IndexConfig(kind=kind, mips_to_l2=mips, **search)
            folder = f"{args.out}/{kind.replace(',', '_')}-{mips}"
            if folder not in built:
                start = time.perf_counter()
                build_index(matrix, cfg, Path(folder))
                built[folder] = time.perf_counter() - start
            index = load_index(Path(folder), matrix, cfg)
            lat = output_latency(index, matrix, queries, args.k)
            print(f"{kind:14s} {str(search):22s} mips_to_l2={mips!s:5s} build {built[folder]:6.1f} s  "
                  f"recall@{args.k} {recall_at_k(index, matrix, queries, args.k):.3f}  "
                  f"{lat['ann_ms']:7.3f} ms vs exact {lat['exact_ms']:7.3f} ms: {lat['speedup']:.1f}x")


if __name__ == "__main__":
    main()
