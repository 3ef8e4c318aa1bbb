"""Stage `help_task`: retrieval and topic items from the parallel LibreOffice help, held out of the corpus's train
split (params.yaml: help_task)."""

from pathlib import Path

from tokshift.core.atomic import write_json
from tokshift.core.params import load_section
from tokshift.encoders.help_task import HelpTaskConfig, build_help_task
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "help_task", HelpTaskConfig)
    write_json(args.metrics, build_help_task(cfg, Path(args.corpus), Path(args.out)))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--corpus", required=True, help="corpus Parquet file (its train split is held out)")
    parser.add_argument("--out", required=True, help="task Parquet file to write")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write (items per language and label)")
    run_stage(main, parser)
