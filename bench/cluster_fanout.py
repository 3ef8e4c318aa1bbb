"""Speed-up of the Dask fan-out (the `cluster` setting) for token statistics and corpus sources, and a scaling model.

    python bench/cluster_fanout.py [--workers 2] [--corpus-sources]

Stats: compute_stats on the pipeline's corpus and tokenizers with cluster none (one process) and local:N,
in this run; the tables must be equal (checked). Each (tokenizer, language) part is also timed alone, so
the model for more workers is: time(N) = serial + startup + max(longest part, sum of parts / N), with
serial = reading the language list + combining, and startup = starting and closing the LocalCluster (measured).
--corpus-sources does the same for the corpus stage's sources (params.yaml: corpus; packages already in
storage/raw), where the longest source bounds the speed-up.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from tokshift.core.cluster import cluster_client
from tokshift.core.params import load_section
from tokshift.data.corpus import CorpusConfig, collect, english_reference, source_pieces
from tokshift.stats.tokens import StatsConfig, compute_stats, lang_stats, stats_tasks


def clock(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def start_and_stop(workers: int) -> None:
    with cluster_client(f"local:{workers}"):
        pass


def model(serial: float, startup: float, parts: list[float], workers: list[int]) -> str:
    rows = []
    for n in workers:
        predicted = serial + (startup if n > 1 else 0.0) + (max(max(parts), sum(parts) / n) if n > 1 else sum(parts))
        rows.append(f"N={n}: {predicted:.1f} s")
    return ", ".join(rows)


def bench_stats(workers: int, corpus: Path) -> None:
    cfg = load_section("params.yaml", "stats", StatsConfig)
    tasks = stats_tasks(corpus, cfg)
    parts = [clock(lambda t=t: lang_stats(*t))[1] for t in tasks]
    one, t_one = clock(lambda: compute_stats(corpus, replace(cfg, cluster="none")))
    many, t_many = clock(lambda: compute_stats(corpus, replace(cfg, cluster=f"local:{workers}")))
    assert one[0].equals(many[0]) and one[1].equals(many[1]), "the fan-out changed the tables"
    _, startup = clock(lambda: start_and_stop(workers))
    serial = max(0.0, t_one - sum(parts))
    print(f"stats: {len(tasks)} parts (tokenizer x language), sum {sum(parts):.1f} s, longest {max(parts):.2f} s")
    print(f"  none {t_one:.1f} s   local:{workers} {t_many:.1f} s   speed-up {t_one / t_many:.2f}x "
          f"(cluster start {startup:.1f} s of it; tables equal)")
    print(f"  model: {model(serial, startup, parts, [1, 2, 4, 8, 16, 64])}")


def bench_corpus(workers: int) -> None:
    cfg = load_section("params.yaml", "corpus", CorpusConfig)
    refs = english_reference(cfg)
    parts = [clock(lambda s=s: source_pieces(s, cfg, refs))[1] for s in cfg.sources]
    one, t_one = clock(lambda: collect(replace(cfg, cluster="none")))
    many, t_many = clock(lambda: collect(replace(cfg, cluster=f"local:{workers}")))
    assert one == many, "the fan-out changed the corpus"
    print(f"corpus: {len(parts)} sources, sum {sum(parts):.1f} s, longest {max(parts):.1f} s "
          f"({cfg.sources[parts.index(max(parts))].lang})")
    print(f"  none {t_one:.1f} s   local:{workers} {t_many:.1f} s   speed-up {t_one / t_many:.2f}x (documents equal)")
    print(f"  model: {model(max(0.0, t_one - sum(parts)), 2.0, parts, [1, 2, 4, 8, 16])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--corpus-sources", action="store_true", help="also time the corpus stage's sources")
    args = parser.parse_args()
    bench_stats(args.workers, Path(args.corpus))
    if args.corpus_sources:
        bench_corpus(args.workers)


if __name__ == "__main__":
    main()
