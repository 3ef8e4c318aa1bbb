"""Prefect flow: token statistics with each (tokenizer, language) a Prefect task, on Prefect's Dask task runner.

The parts are the stats stage's own (tokshift.stats.tokens.lang_stats) and so is the output, row for row.
The stage fans out by itself (params.yaml: stats.cluster); this flow is for deployments that already run
Prefect on Dask and want each part visible and retried as a task:

    python flows/stats.py --corpus storage/corpus/corpus.parquet --out storage/stats-flow --cluster local:4
    python flows/stats.py ... --cluster tcp://scheduler:8786   # workers must see the same paths
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow, task
from prefect_dask import DaskTaskRunner

from tokshift.core.cluster import FORMS, is_cluster_spec
from tokshift.core.params import load_section
from tokshift.stats.tokens import StatsConfig, combine_parts, lang_stats, stats_tasks, summary, write_stats


@task(retries=2, retry_delay_seconds=5)
def stats_part(corpus: str, splits: list[str], lang: str, name: str, folder: str, batch_size: int):
    return lang_stats(corpus, splits, lang, name, folder, batch_size)


@flow(name="tokshift-stats")
def token_stats(corpus: str, out: str, params: str = "params.yaml") -> dict:
    """Statistics of `corpus` for params.yaml's stats section into `out`; returns the summary metrics."""
    cfg = load_section(params, "stats", StatsConfig)
    futures = [stats_part.submit(*args) for args in stats_tasks(Path(corpus), cfg)]
    doc_stats, token_freq = combine_parts([f.result() for f in futures])
    write_stats(doc_stats, token_freq, Path(out))
    return summary(doc_stats, token_freq)


def task_runner(cluster: str) -> DaskTaskRunner:
    """local:N -> a temporary LocalCluster of N single-threaded processes; an address -> that scheduler."""
    if not is_cluster_spec(cluster) or cluster == "none":
        raise SystemExit(f"--cluster: '{cluster}' must be local:N or a scheduler address ({FORMS})")
    if cluster.startswith("local:"):
        return DaskTaskRunner(cluster_kwargs={"n_workers": int(cluster[6:]), "threads_per_worker": 1,
                                              "dashboard_address": None})
    return DaskTaskRunner(address=cluster)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--out", required=True, help="statistics folder to write (replaced atomically)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--cluster", default="local:2", help="local:N or a Dask scheduler address")
    args = parser.parse_args()
    token_stats.with_options(task_runner=task_runner(args.cluster))(args.corpus, args.out, args.params)
