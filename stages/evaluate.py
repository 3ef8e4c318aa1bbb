"""Stage `evaluate`: bits per byte of the original and every transferred model (params.yaml: evaluate)."""

from pathlib import Path

from tokshift.core.atomic import write_csv, write_json
from tokshift.core.params import load_section
from tokshift.evaluation.evaluate import EvaluateConfig, evaluate_all
from tokshift.plots import evaluation_png
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "evaluate", EvaluateConfig)
    transfers = sorted(p.parent for p in Path(args.transfers).glob("*/*/transfer.json"))
    rows = evaluate_all(Path(args.model), transfers, Path(args.corpus), cfg)
    metrics: dict = {}
    for row in rows:
        metrics.setdefault(row["model"], {})[row["lang"]] = {k: row[k] for k in ("bpb", "tokens", "tokens_per_byte")}
    write_json(args.metrics, metrics)
    write_csv(args.plot, rows)
    evaluation_png(Path(args.plot), Path(args.png))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--transfers", required=True, help="folder of <tokenizer>/<method>/ transfer folders")
    parser.add_argument("--corpus", required=True, help="corpus Parquet file")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    parser.add_argument("--plot", required=True, help="plot CSV to write (one row per model x language)")
    parser.add_argument("--png", required=True, help="bar chart PNG to write")
    run_stage(main, parser)
