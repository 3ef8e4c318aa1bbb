"""Stage `stats`: token statistics of held-out text for every tokenizer (params.yaml: stats)."""

from pathlib import Path

from tokshift.core.atomic import write_json
from tokshift.core.params import load_section
from tokshift.stage import run_stage, stage_parser
from tokshift.stats.tokens import StatsConfig, compute_stats, summary, write_stats


def main(args) -> None:
    cfg = load_section(args.params, "stats", StatsConfig)
    doc_stats, token_freq = compute_stats(Path(args.corpus), cfg)
    write_stats(doc_stats, token_freq, Path(args.out))
    write_json(args.metrics, summary(doc_stats, token_freq))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--corpus", required=True, help="corpus Parquet file")
    parser.add_argument("--out", required=True, help="statistics folder to write")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    run_stage(main, parser)
