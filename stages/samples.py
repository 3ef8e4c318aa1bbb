"""Stage `samples`: the valid and test chunks every evaluating stage reads, leaked chunks dropped
(params.yaml: samples)."""

from tokshift.core.atomic import write_json
from tokshift.core.params import load_section
from tokshift.data.samples import SampleConfig, build_samples
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "samples", SampleConfig)
    write_json(args.metrics, build_samples(args.corpus, args.out, cfg))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--corpus", required=True, help="corpus Parquet file")
    parser.add_argument("--out", required=True, help="sample Parquet file to write")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    run_stage(main, parser)
