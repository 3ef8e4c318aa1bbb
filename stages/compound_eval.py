"""Stage `compound_eval`: how each tokenizer cuts compounds, its tokens, its transfers (params.yaml: compound_eval)."""

from pathlib import Path

from tokshift.compounds.measure import CompoundEvalConfig, measure_compounds
from tokshift.core.atomic import write_json
from tokshift.core.params import load_section
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "compound_eval", CompoundEvalConfig)
    metrics = measure_compounds(Path(args.pairs), Path(args.samples), Path(args.chunks), cfg, Path(args.out))
    write_json(args.metrics, metrics)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--pairs", required=True, help="compound_data's pairs.parquet")
    parser.add_argument("--samples", required=True, help="the evaluation sample Parquet")
    parser.add_argument("--chunks", required=True, help="evaluate's per-chunk scores Parquet")
    parser.add_argument("--out", required=True, help="per-word table to write (Parquet)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    run_stage(main, parser)
