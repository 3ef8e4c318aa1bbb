"""Stage `vocab_index`: a large vocabulary, its hypernetwork embeddings and a FAISS index (params.yaml: vocab_index).

Embedding shards are computed under --work (outside DVC's outputs), so a killed run resumes at the
next shard; the finished folder is written atomically (tokshift.large_vocab.folder).
"""

import torch

from tokshift.core.atomic import write_json
from tokshift.core.device import autocast, resolve_device
from tokshift.core.params import load_section
from tokshift.hypernet.folder import load_hypernet
from tokshift.large_vocab.evaluate import evaluate_large_vocab
from tokshift.large_vocab.folder import VocabIndexConfig, build_large_vocab
from tokshift.model.base import load_model
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "vocab_index", VocabIndexConfig)
    device = resolve_device(cfg.device, "vocab_index.device")
    model, tok = load_model(args.model, device=device)
    hyper = load_hypernet(args.hypernet, model)
    vocab, matrix, index, facts = build_large_vocab(model, tok, hyper, args.hypernet, args.corpus, args.out,
                                                    args.work, cfg)
    with torch.no_grad(), autocast(device, cfg.bf16):
        quality = evaluate_large_vocab(model, tok, vocab, matrix, index, args.corpus, cfg)
    write_json(args.metrics, {**facts, **quality})


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--hypernet", required=True, help="trained hypernetwork folder")
    parser.add_argument("--corpus", required=True, help="corpus Parquet file")
    parser.add_argument("--out", required=True, help="vocabulary index folder to write")
    parser.add_argument("--work", required=True, help="folder for resumable embedding shards (kept between runs)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    run_stage(main, parser)
