"""Stage `evaluate`: bits per byte of the original and every transferred model on the shared test sample, with
intervals (params.yaml: evaluate)."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tokshift.core.atomic import atomic_file, write_csv, write_json
from tokshift.core.params import load_section
from tokshift.evaluation.compare import flat, summarise
from tokshift.evaluation.evaluate import EvaluateConfig, evaluate_all
from tokshift.plots import evaluation_png
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "evaluate", EvaluateConfig)
    transfers = sorted(p.parent for p in Path(args.transfers).glob("*/*/transfer.json"))
    chunks = evaluate_all(Path(args.model), transfers, Path(args.samples), cfg)
    with atomic_file(args.chunks) as tmp:
        pq.write_table(pa.Table.from_pylist(chunks), tmp, compression="zstd")
    summary = summarise(chunks, cfg.draws)
    metrics: dict = {}
    for row in summary:
        metrics.setdefault(row["model"], {})[row["lang"]] = {
            k: v for k, v in row.items() if k not in ("model", "tokenizer", "method", "lang")}
    write_json(args.metrics, metrics)
    write_csv(args.plot, [{**flat(row), "label": f"{row['lang']} {row['model']}"} for row in summary])
    evaluation_png(Path(args.plot), Path(args.png))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--transfers", required=True, help="folder of <tokenizer>/<method>/ transfer folders")
    parser.add_argument("--samples", required=True, help="evaluation sample Parquet (its test chunks are scored)")
    parser.add_argument("--chunks", required=True, help="per-chunk scores Parquet to write")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    parser.add_argument("--plot", required=True, help="plot CSV to write (one row per model x language)")
    parser.add_argument("--png", required=True, help="bar chart PNG to write")
    run_stage(main, parser)
