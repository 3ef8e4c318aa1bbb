"""Stage `transfer@<tokenizer>-<method>`: new embeddings for one target tokenizer (params.yaml: transfer)."""

from tokshift.atomic import write_json
from tokshift.params import load_section
from tokshift.stage import run_stage, stage_parser
from tokshift.transfer import TransferConfig, transfer


def main(args) -> None:
    cfg = load_section(args.params, "transfer", TransferConfig)
    write_json(args.metrics, transfer(args.model, args.tokenizer, args.method, args.out, seed=cfg.seed))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--tokenizer", required=True, help="target tokenizer folder")
    parser.add_argument("--method", required=True, help="transfer method")
    parser.add_argument("--out", required=True, help="transfer folder to write")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    run_stage(main, parser)
