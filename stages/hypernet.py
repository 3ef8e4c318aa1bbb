"""Stages `hypernet` and `encoder_hypernet`: train the ZeTT hypernetwork for a base model (params.yaml: the section
named by --section).

Checkpoints go to --checkpoints (outside DVC's outputs, so a killed run resumes); the trained
hypernetwork to --out, the loss curves and the bpb-vs-step curve to plot CSVs.
"""

from pathlib import Path

from tokshift.core.atomic import write_csv, write_json
from tokshift.core.params import load_section
from tokshift.hypernet.config import EncoderHypernetConfig, TrainConfig
from tokshift.hypernet.train import train_hypernet
from tokshift.plots import hypernet_png
from tokshift.stage import run_stage, stage_parser

CONFIGS = {"hypernet": TrainConfig, "encoder_hypernet": EncoderHypernetConfig}
YLABELS = {"bpb": "valid bits per byte (lower is better)",
           "pooled_distance": "valid 1 - cosine to the original's sentence embeddings (lower is better)"}


def main(args) -> None:
    cfg = load_section(args.params, args.section, CONFIGS[args.section])
    trainer, metrics = train_hypernet(args.model, args.corpus, args.out, args.checkpoints, cfg, args.samples)
    if not trainer.acc.is_main_process:
        return
    write_csv(args.curve, trainer.rows)
    if trainer.bpb_rows:
        write_csv(args.bpb_curve, trainer.bpb_rows)
        hypernet_png(Path(args.bpb_curve), Path(args.png), YLABELS[trainer.metric])
    write_json(args.metrics, metrics)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--corpus", required=True, help="corpus Parquet file")
    parser.add_argument("--samples", help="evaluation sample Parquet whose valid chunks the curve reads "
                        "(default: the corpus's first valid documents)")
    parser.add_argument("--out", required=True, help="hypernetwork folder to write")
    parser.add_argument("--checkpoints", required=True, help="checkpoint folder (kept between runs)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    parser.add_argument("--curve", required=True, help="training-curve CSV to write (one row per step)")
    parser.add_argument("--bpb-curve", required=True, help="bpb-vs-step CSV to write")
    parser.add_argument("--png", required=True, help="bpb-vs-step PNG to write")
    parser.add_argument("--section", default="hypernet", choices=sorted(CONFIGS), help="params.yaml section to read")
    run_stage(main, parser)
