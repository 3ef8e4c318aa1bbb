"""Throughput of the stats stage against raw `Tokenizer.encode_batch` on the same text, as a ratio.

    python bench/stats_throughput.py [--corpus storage/corpus/corpus.parquet]
                                     [--tokenizers-dir storage/tokenizers] [--repeats 3]

Both sides tokenize the corpus's valid+test splits with every tokenizer of the pipeline (as the
stage does); the stats side also reads the corpus and the tokenizer files, counts, builds both
tables and writes the Parquet dataset. Best of `--repeats` runs each. Target: ratio >= 0.8.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from tokshift.stats.tokens import StatsConfig, compute_stats, find_tokenizers, write_stats
from tokshift.tokenization.training import load_tokenizer


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--tokenizers-dir", default="storage/tokenizers")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    cfg = StatsConfig(splits=["valid", "test"], tokenizers_dir=args.tokenizers_dir, extra_tokenizers={})
    texts = pq.read_table(args.corpus, columns=["text"], filters=[("split", "in", cfg.splits)]
                          ).column("text").to_pylist()
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    toks = [load_tokenizer(folder) for folder in find_tokenizers(cfg).values()]

    def raw() -> None:
        for tok in toks:
            for start in range(0, len(texts), cfg.batch_size):
                tok.encode_batch(texts[start:start + cfg.batch_size], add_special_tokens=False)

    def stage() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            write_stats(*compute_stats(Path(args.corpus), cfg), Path(tmp) / "stats")

    raw_s, stage_s = best_of(raw, args.repeats), best_of(stage, args.repeats)
    print(f"text: {mb:.2f} MB ({len(texts)} docs) x {len(toks)} tokenizers in {args.tokenizers_dir}")
    mb *= len(toks)
    print(f"raw Tokenizer.encode_batch: {mb / raw_s:8.2f} MB/s")
    print(f"stats stage (tokenize, count, write): {mb / stage_s:8.2f} MB/s")
    print(f"ratio stats/raw: {raw_s / stage_s:.2f}  (target >= 0.8)")


if __name__ == "__main__":
    main()
