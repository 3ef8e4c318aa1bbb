"""Stages `transfer@<tokenizer>-<method>` and `transfer_hypernet@<tokenizer>`: new embeddings for one target
tokenizer (params.yaml: transfer)."""

from tokshift.core.atomic import write_json
from tokshift.core.params import load_section
from tokshift.data.corpus import read_corpus
from tokshift.model.score import capped_texts
from tokshift.stage import run_stage, stage_parser
from tokshift.tokenization.training import tokenizer_langs
from tokshift.transfers.methods import TransferConfig, transfer


def main(args) -> None:
    cfg = load_section(args.params, "transfer", TransferConfig)
    texts = None
    if args.method == "focus":  # FOCUS trains fastText on the target languages' train split
        texts = capped_texts([t for lang in tokenizer_langs(args.tokenizer)
                              for t in read_corpus(args.corpus, split="train", lang=lang).column("text").to_pylist()],
                             cfg.focus_max_bytes)
    write_json(args.metrics, transfer(args.model, args.tokenizer, args.method, args.out, seed=cfg.seed,
                                      train_texts=texts, hypernet_dir=args.hypernet))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--tokenizer", required=True, help="target tokenizer folder")
    parser.add_argument("--method", required=True, help="transfer method")
    parser.add_argument("--corpus", required=True, help="corpus Parquet file (train text for focus)")
    parser.add_argument("--hypernet", default=None, help="trained hypernetwork folder (method hypernet)")
    parser.add_argument("--out", required=True, help="transfer folder to write")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    run_stage(main, parser)
