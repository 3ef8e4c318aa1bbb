"""Tokens/s of the batched bits-per-byte scorer against a plain one-document-at-a-time loop, as a ratio.

    python bench/evaluate_throughput.py [--model storage/models/base] [--corpus storage/corpus/corpus.parquet]
                                        [--lang de] [--max-bytes 8000] [--device cpu|cuda]

Both sides score the same test documents with the same windows; the loop runs each window alone
(batch 1, no padding). The two totals must agree (printed), so the ratio compares equal work.
"""

from __future__ import annotations

import argparse
import time

import torch

from tokshift.data.corpus import capped_texts, read_corpus
from tokshift.model.base import load_model
from tokshift.model.score import ScoreConfig, score_texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="storage/models/base")
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--lang", default="de")
    parser.add_argument("--max-bytes", type=int, default=8000)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    model, tok = load_model(args.model)
    model.to(args.device)
    docs = read_corpus(args.corpus, split="test", lang=args.lang).sort_by("doc_id").column("text").to_pylist()
    texts = capped_texts(docs, args.max_bytes)
    batched_cfg = ScoreConfig(window=512, stride=384, batch_tokens=4096)
    single_cfg = ScoreConfig(window=512, stride=384, batch_tokens=512)  # one window per forward pass

    def timed(cfg: ScoreConfig):
        start = time.perf_counter()
        score = score_texts(model, tok, texts, cfg)
        return score, time.perf_counter() - start

    score_texts(model, tok, texts[:1], batched_cfg)  # warm-up
    loop, loop_s = timed(single_cfg)
    batched, batched_s = timed(batched_cfg)
    print(f"model {args.model} on {args.device}, {len(texts)} {args.lang} test docs, {batched.n_tokens} tokens")
    print(f"one window at a time: {loop.n_tokens / loop_s:9.1f} tokens/s  (bpb {loop.bpb:.5f})")
    print(f"batched scorer:       {batched.n_tokens / batched_s:9.1f} tokens/s  (bpb {batched.bpb:.5f})")
    print(f"ratio batched/loop: {loop_s / batched_s:.2f}")


if __name__ == "__main__":
    main()
