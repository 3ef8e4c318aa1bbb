"""The output-layer index at a million rows: recall@k and per-query latency against the exact layer.

    python bench/vocab_index_scale.py [--rows 1000000] [--kind IVF4096,Flat] [--nprobe 32,64,128,256]
                                      [--k-factor 1]
                                      [--vocab-index storage/vocab_index] [--hypernet storage/hypernet]

The default corpus is too small for a million BPE merges, so the rows past the stored large vocabulary
are hypernetwork output embeddings of the train split's most frequent runs of two and three base
pretokens (at most max_pieces base tokens each): real strings, embedded as the stage embeds its
tokens, so the index sees the same kind of rows. Queries are hidden states on test text, the
whitening is fitted on train text, as in the stage. Embedding shards are kept under --work (resume).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import torch
from tqdm import tqdm

from tokshift.data.corpus import split_texts
from tokshift.dynamic.merge import base_encode, units
from tokshift.hypernet.folder import load_hypernet
from tokshift.large_vocab.evaluate import argmax_found, output_latency, recall_at_k, sample_queries
from tokshift.large_vocab.folder import embed_extra_tokens, open_large_vocab, output_matrix
from tokshift.large_vocab.index import IndexConfig, build_index, load_index
from tokshift.large_vocab.states import split_query_states
from tokshift.model.base import load_model
from tokshift.model.score import bos_id
from tokshift.tokenization.specials import special_ids
from tokshift.tokenization.spelling import token_string

LANGS = "en,de,fr,es,ru,el,ja,zh,ko,code"


def pretoken_ngrams(texts: list[str], base, max_pieces: int) -> Counter:
    """Counts of runs of 2 and 3 consecutive pretokens (tuples of base ids), specials left out."""
    special, counts = special_ids(base), Counter()
    for start in tqdm(range(0, len(texts), 256), desc="n-grams", unit="batch", disable=None):
        chunk = texts[start:start + 256]
        for text, enc in zip(chunk, base_encode(chunk, base), strict=True):
            pre = [tuple(u) for u in units(text, enc.ids, enc.word_ids, enc.offsets, special, "pretoken")]
            for n in (2, 3):
                for i in range(len(pre) - n + 1):
                    run = sum(pre[i:i + n], ())
                    if len(run) <= max_pieces and not special & set(run):
                        counts[run] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--kind", default="IVF4096,Flat", help="FAISS index_factory string (an IVF kind)")
    parser.add_argument("--k-factor", type=int, default=1, help="RFlat kinds: candidates re-ranked per result")
    parser.add_argument("--nprobe", default="32,64,128,256")
    parser.add_argument("--vocab-index", default="storage/vocab_index")
    parser.add_argument("--hypernet", default="storage/hypernet")
    parser.add_argument("--model", default="storage/models/base")
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--work", default="/tmp/tokshift-index-scale")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=20)
    args = parser.parse_args()

    model, tok = load_model(args.model)
    model.eval()
    base = tok.backend_tokenizer
    vocab, matrix, _ = open_large_vocab(args.vocab_index, model, base)
    hyper = load_hypernet(args.hypernet, model)
    known = set(vocab.lookup)
    need = args.rows - len(matrix)
    start = time.perf_counter()
    texts = [t for lang in LANGS.split(",") for t in split_texts(args.corpus, "train", lang, "--corpus")]
    counts = pretoken_ngrams(texts, base, hyper.cfg.max_pieces)
    filler = [run for run, _ in counts.most_common() if token_string(run, base) not in known][:max(0, need)]
    print(f"{len(counts):,} distinct n-grams, {len(filler):,} rows added ({time.perf_counter() - start:.0f} s)")
    start = time.perf_counter()
    with torch.no_grad():
        shards = embed_extra_tokens(hyper, filler, base, Path(args.work) / f"emb-{len(filler)}")
    print(f"embedded in {time.perf_counter() - start:.0f} s")
    matrix = torch.cat([matrix, output_matrix(model, shards)[len(model.get_output_embeddings().weight):]])
    del shards

    def states(split: str, langs: str, max_bytes: int) -> torch.Tensor:
        return split_query_states(model, vocab, args.corpus, split, langs.split(","), max_bytes, bos_id(tok),
                                  "--corpus")

    queries = sample_queries(states("test", "de,ja,code,en,ru,zh", 4000), args.queries)
    fit = states("train", LANGS, 1500)  # as the stage fits the whitening
    print(f"{len(matrix):,} rows x {matrix.shape[1]}, {len(queries)} queries, k={args.k}")
    cfg = IndexConfig(kind=args.kind, k_factor=args.k_factor)
    folder = Path(args.work) / f"{args.kind.replace(',', '_')}-{len(matrix)}"
    start = time.perf_counter()
    meta = build_index(matrix, cfg, folder, states=fit)
    print(f"{args.kind} build {time.perf_counter() - start:.0f} s, {meta['index_bytes'] / 2**30:.2f} GiB")
    for nprobe in map(int, args.nprobe.split(",")):
        cfg.nprobe = nprobe
        index = load_index(folder, matrix, cfg)
        lat = output_latency(index, matrix, queries, args.k)
        print(f"nprobe {nprobe:4d}: recall@{args.k} {recall_at_k(index, matrix, queries, args.k):.3f}  "
              f"argmax in top-{args.k} {argmax_found(index, matrix, queries, args.k):.3f}  "
              f"{lat['ann_ms']:7.3f} ms vs exact {lat['exact_ms']:8.3f} ms: {lat['speedup']:.1f}x")


if __name__ == "__main__":
    main()
