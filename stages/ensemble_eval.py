"""Stage `ensemble_eval`: byte-level ensembles of the original and transferred models, audited with controls
(params.yaml: ensemble_eval)."""

from pathlib import Path

from tokshift.core.atomic import write_csv, write_json
from tokshift.core.params import load_section
from tokshift.evaluation.ensemble import EnsembleEvalConfig, ensemble_all
from tokshift.evaluation.ensemble_audit import audit
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "ensemble_eval", EnsembleEvalConfig)
    scored = ensemble_all(Path(args.model), Path(args.transfers), Path(args.samples), Path(args.corpus), cfg)
    metrics, rows = audit(scored, cfg.weights, cfg.draws)
    write_json(args.metrics, metrics)
    write_csv(args.plot, rows)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--transfers", required=True, help="folder of <tokenizer>/<method>/ transfer folders")
    parser.add_argument("--samples", required=True, help="evaluation sample Parquet (valid: weights; test: report)")
    parser.add_argument("--corpus", required=True, help="corpus Parquet file (train text for the vocabulary model)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    parser.add_argument("--plot", required=True, help="plot CSV to write (test bpb per weight, with intervals)")
    run_stage(main, parser)
