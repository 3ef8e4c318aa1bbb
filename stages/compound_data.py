"""Stage `compound_data`: hyphen pairs and word counts for decompounding (params.yaml: compound_data)."""

from pathlib import Path

from tokshift.compounds.data import build_compound_data
from tokshift.compounds.pairs import CompoundDataConfig
from tokshift.core.atomic import write_json
from tokshift.core.params import load_section
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "compound_data", CompoundDataConfig)
    write_json(args.metrics, build_compound_data(Path(args.corpus), cfg, Path(args.raw), Path(args.out)))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--corpus", required=True, help="corpus Parquet file")
    parser.add_argument("--raw", default="storage/raw", help="download cache (the lexicon's wheel)")
    parser.add_argument("--out", required=True, help="folder to write pairs.parquet and words.parquet to")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    run_stage(main, parser)
