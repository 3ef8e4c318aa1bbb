"""Stage `decompounder`: train ours, score them and the PyPI baselines on held-out words (params.yaml: decompounder)."""

from pathlib import Path

import pyarrow.parquet as pq

from tokshift.compounds.decompounder import DecompounderConfig, train_decompounder
from tokshift.core.atomic import write_csv, write_json
from tokshift.core.errors import MissingFileError
from tokshift.core.params import load_section
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "decompounder", DecompounderConfig)
    data = Path(args.data)
    for name in ("pairs.parquet", "words.parquet"):
        if not (data / name).exists():
            raise MissingFileError(f"{data / name}: not found; run `dvc repro compound_data` first")
    words = pq.read_table(data / "words.parquet")
    counts = dict(zip(words.column("word").to_pylist(), words.column("count").to_pylist(), strict=False))
    metrics = train_decompounder(pq.read_table(data / "pairs.parquet"), counts, cfg, Path(args.out), Path(args.raw))
    write_csv(args.curve, metrics.pop("char_curve"))
    write_json(args.metrics, metrics)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--data", required=True, help="compound_data folder (pairs.parquet, words.parquet)")
    parser.add_argument("--raw", default="storage/raw", help="download cache (the baselines' wheels)")
    parser.add_argument("--out", required=True, help="decompounder folder to write")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    parser.add_argument("--curve", required=True, help="CSV of the character model's valid accuracy per epoch")
    run_stage(main, parser)
