"""Stage `ensemble_eval`: byte-level ensembles of the original and transferred models (params.yaml: ensemble_eval)."""

from pathlib import Path

from tokshift.core.atomic import write_csv, write_json
from tokshift.core.params import load_section
from tokshift.evaluation.ensemble import EnsembleEvalConfig, ensemble_all
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "ensemble_eval", EnsembleEvalConfig)
    rows = ensemble_all(Path(args.model), Path(args.transfers), Path(args.corpus), cfg)
    metrics: dict = {}
    for row in rows:
        entry = metrics.setdefault(row["transfer"], {}).setdefault(row["lang"], {"bytes": row["bytes"]})
        if row["weight"] in (0.0, 1.0):
            entry["original" if row["weight"] == 1.0 else "transfer"] = row["bpb"]
        elif row["weight"] == 0.5:
            entry[row["combination"]] = row["bpb"]
    for langs in metrics.values():
        for entry in langs.values():
            best = min(entry["original"], entry["transfer"])
            entry.update({f"{how}_gain": round(1 - entry[how] / best, 5) for how in ("mixture", "product")})
    write_json(args.metrics, metrics)
    write_csv(args.plot, rows)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--transfers", required=True, help="folder of <tokenizer>/<method>/ transfer folders")
    parser.add_argument("--corpus", required=True, help="corpus Parquet file")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write (bpb at weight 0.5 and alone)")
    parser.add_argument("--plot", required=True, help="plot CSV to write (one row per transfer x language x weight)")
    run_stage(main, parser)
