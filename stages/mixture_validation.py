"""Stage `mixture_validation`: train byte-level BPE tokenizers on known random mixtures and infer them back, against
a random guess and the encoding-efficiency baseline (params.yaml: mixture)."""

from tokshift.core.atomic import write_csv, write_json
from tokshift.core.params import load_section
from tokshift.mixture.infer import MixtureConfig, write_rows
from tokshift.mixture.validate import SCHEMA, validate
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "mixture", MixtureConfig)
    rows, metrics, plot = validate(args.corpus, cfg)
    write_rows(rows, args.out, SCHEMA)
    write_json(args.metrics, metrics)
    write_csv(args.plot, plot)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--corpus", required=True, help="corpus Parquet file (train split: fit and sample halves)")
    parser.add_argument("--out", required=True, help="Parquet file to write (mixture, category, truth, lp, tee, "
                                                     "random)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write (mean log10 MSE per method)")
    parser.add_argument("--plot", required=True, help="plot CSV to write (log10 MSE per mixture and method)")
    run_stage(main, parser)
