"""Stage `adapt@<tokenizer>-<init>`: continue training one transfer on its own tokenizer (params.yaml: adapt)."""

from pathlib import Path

from tokshift.adapt.config import AdaptConfig
from tokshift.adapt.train import adapt_transfer
from tokshift.core.atomic import write_csv, write_json
from tokshift.core.params import load_section
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "adapt", AdaptConfig)
    run = adapt_transfer(args.transfer, args.corpus, args.out, args.checkpoints, cfg, samples=args.samples)
    if not run.is_main:  # under torchrun the main process writes
        return
    write_csv(args.curve, [{**row, "original": run.original_bpb} for row in run.curve])
    last = run.rows[-5:]
    write_json(args.metrics, {"init": Path(args.transfer).name, "steps": run.step, "train": cfg.train,
                              "distill_steps": cfg.distill_steps, "ema_decay": cfg.ema_decay,
                              "processes": run.acc.num_processes,
                              "tokens": run.curve[-1]["tokens"], "seconds": run.curve[-1]["seconds"],
                              "valid_bpb_start": run.curve[0]["bpb"], "valid_bpb": run.curve[-1]["bpb"],
                              "original_valid_bpb": run.original_bpb,
                              "tokens_per_second": round(sum(r["tokens_per_second"] for r in last) / len(last), 1)})


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--transfer", required=True, help="transfer folder to start from")
    parser.add_argument("--corpus", required=True, help="corpus Parquet file (train and valid splits)")
    parser.add_argument("--samples", help="evaluation sample Parquet whose valid chunks the curve reads "
                        "(default: the corpus's first valid documents)")
    parser.add_argument("--out", required=True, help="adapted transfer folder to write")
    parser.add_argument("--checkpoints", required=True, help="folder for resumable checkpoints (kept between runs)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    parser.add_argument("--curve", required=True, help="valid bpb vs training tokens CSV to write")
    run_stage(main, parser)
