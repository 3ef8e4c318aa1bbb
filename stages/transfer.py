"""Stages `transfer@<tokenizer>-<method>`, `transfer_hypernet@<tokenizer>`, `transfer_wechsel@<tokenizer>` and
`encoder_transfer@<tokenizer>-<method>`: new embeddings for one target tokenizer (params.yaml: the section named
by --section; wechsel also reads its own section)."""

from tokshift.core.atomic import write_json
from tokshift.core.params import load_section
from tokshift.heuristics.spaces import WechselConfig
from tokshift.stage import run_stage, stage_parser
from tokshift.transfers.methods import EncoderTransferConfig, TransferConfig, focus_texts, transfer

CONFIGS = {"transfer": TransferConfig, "encoder_transfer": EncoderTransferConfig}


def main(args) -> None:
    cfg = load_section(args.params, args.section, CONFIGS[args.section])
    texts = focus_texts(args.corpus, args.tokenizer, cfg.focus_max_bytes) if args.method == "focus" else None
    wechsel = load_section(args.params, "wechsel", WechselConfig) if args.method == "wechsel" else None
    write_json(args.metrics, transfer(args.model, args.tokenizer, args.method, args.out, seed=cfg.seed,
                                      train_texts=texts, hypernet_dir=args.hypernet, device=cfg.device,
                                      word_vectors=args.word_vectors, wechsel=wechsel))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--tokenizer", required=True, help="target tokenizer folder")
    parser.add_argument("--method", required=True, help="transfer method")
    parser.add_argument("--corpus", required=True, help="corpus Parquet file (train text for focus)")
    parser.add_argument("--hypernet", default=None, help="trained hypernetwork folder (method hypernet)")
    parser.add_argument("--word-vectors", default=None, help="aligned word vectors folder (method wechsel)")
    parser.add_argument("--out", required=True, help="transfer folder to write")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    parser.add_argument("--section", default="transfer", choices=sorted(CONFIGS), help="params.yaml section to read")
    run_stage(main, parser)
