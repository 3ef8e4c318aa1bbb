"""Stages `base_model` and `encoder_model`: load a base model and save it as plain safetensors (params.yaml: the
section named by --section)."""

from pathlib import Path

from tokshift.core.atomic import write_json
from tokshift.core.params import load_section
from tokshift.model.base import BaseModelConfig, EncoderModelConfig, prepare_base_model
from tokshift.stage import run_stage, stage_parser

CONFIGS = {"base_model": BaseModelConfig, "encoder_model": EncoderModelConfig}


def main(args) -> None:
    cfg = load_section(args.params, args.section, CONFIGS[args.section])
    write_json(args.metrics, prepare_base_model(cfg, Path(args.out)))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--out", required=True, help="model folder to write")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    parser.add_argument("--section", default="base_model", choices=sorted(CONFIGS), help="params.yaml section to read")
    run_stage(main, parser)
