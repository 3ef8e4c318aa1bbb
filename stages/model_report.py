"""Stage `gemma3_report` (presets/gemma3): what each transfer gives a user who takes it home: parameters before and
after, and greedy generation speed in bytes of text per second against the original, measured on the exported
folders loaded with stock transformers (params: model_report)."""

from pathlib import Path

from tokshift.core.atomic import write_json
from tokshift.core.params import load_section
from tokshift.evaluation.speed import SpeedConfig, report
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "model_report", SpeedConfig)
    transfers = sorted(p.parent for p in Path(args.transfers).glob("*/*/transfer.json"))
    write_json(args.metrics, report(Path(args.model), transfers, Path(args.samples), cfg))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--transfers", required=True, help="folder of <tokenizer>/<method>/ transfer folders")
    parser.add_argument("--samples", required=True, help="evaluation sample Parquet (its test chunks give prompts)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    run_stage(main, parser)
