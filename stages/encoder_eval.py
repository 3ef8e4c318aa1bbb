"""Stage `encoder_eval`: retrieval P@1 / MRR, topic accuracy and tokens of the encoder and every transfer of it,
per language, with 95% intervals and paired differences to the original and FVT (params.yaml: encoder_eval)."""

from pathlib import Path

from tokshift.core.atomic import write_csv, write_json
from tokshift.core.params import load_section
from tokshift.encoders.evaluate import EncoderEvalConfig, evaluate_encoder
from tokshift.stage import run_stage, stage_parser
from tokshift.stats.bootstrap import spread

IDENTITY = ("model", "tokenizer", "method", "lang")


def main(args) -> None:
    cfg = load_section(args.params, "encoder_eval", EncoderEvalConfig)
    transfers = sorted(p.parent for p in Path(args.transfers).glob("*/*/transfer.json"))
    rows = evaluate_encoder(Path(args.model), transfers, Path(args.task), cfg, reference=args.reference)
    metrics: dict = {}
    for row in rows:
        metrics.setdefault(row["model"], {})[row["lang"]] = {k: v for k, v in row.items() if k not in IDENTITY}
    write_json(args.metrics, metrics)
    write_csv(args.table, [spread(row) for row in rows])


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="encoder model folder")
    parser.add_argument("--transfers", required=True, help="folder of <tokenizer>/<method>/ transfer folders")
    parser.add_argument("--task", required=True, help="task Parquet file (help_task)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    parser.add_argument("--table", required=True, help="CSV to write (one row per model x language)")
    parser.add_argument("--reference", default=None, help="also save the original's side of the task here "
                                                          "(classifier, English passages) for encoder_dynamic_eval")
    run_stage(main, parser)
