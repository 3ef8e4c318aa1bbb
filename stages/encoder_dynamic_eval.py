"""Stage `encoder_dynamic_eval`: dynamic tokenization on the encoder, the help task at each token-reduction target
per language (params.yaml: encoder_dynamic_eval)."""

from pathlib import Path

from tokshift.core.atomic import write_csv, write_json
from tokshift.core.params import load_section
from tokshift.encoders.dynamic import EncoderDynamicConfig, evaluate_encoder_dynamic
from tokshift.stage import run_stage, stage_parser

COLUMNS = ("reduction", "tokens", "p_at_1", "mrr", "accuracy", "p_at_1_change", "p_at_1_change_lo", "p_at_1_change_hi",
           "p_at_1_verdict", "accuracy_change", "accuracy_change_lo", "accuracy_change_hi", "accuracy_verdict")


def main(args) -> None:
    cfg = load_section(args.params, "encoder_dynamic_eval", EncoderDynamicConfig)
    rows = evaluate_encoder_dynamic(Path(args.model), Path(args.hypernet), Path(args.task), cfg, args.reference)
    metrics: dict = {}
    for row in rows:
        metrics.setdefault(f"target_{row['target']}", {})[row["lang"]] = {k: row[k] for k in COLUMNS if k in row}
    write_json(args.metrics, metrics)
    write_csv(args.table, rows)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="encoder model folder")
    parser.add_argument("--hypernet", required=True, help="the encoder's hypernetwork folder")
    parser.add_argument("--task", required=True, help="task Parquet file (help_task)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    parser.add_argument("--table", required=True, help="CSV to write (one row per language x target)")
    parser.add_argument("--reference", default=None, help="encoder_eval's saved side of the original (skips "
                                                          "embedding the English side again when it matches)")
    run_stage(main, parser)
