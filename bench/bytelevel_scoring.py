"""Seconds of byte-level scoring against token-level scoring of the same text, same run, as ratios.

    python bench/bytelevel_scoring.py [--model storage/models/base] [--corpus storage/corpus/corpus.parquet]
                                      [--langs en de ru code] [--max-bytes 2000] [--device cpu|cuda]

Three ways over the same test documents and windows (512 tokens, restarting from the last 128):
- token level: the token-level scorer (model/score.py), the baseline;
- byte level, whole text: the exact byte-level log-likelihood of each document (bytelevel/score.py
  `score_bytes`: canonical tokens, plus the covers of the last pretoken), and the token-level bpb of that
  same run (`same-run`: its windows restart at pretoken boundaries, so it differs slightly from the first);
- byte level, byte by byte: the normalised next-byte distribution at every byte (`byte_logprobs`), what
  byte-level ensembles and product of experts need.
Cost model: token positions the model computes per byte of text, printed for each (forwards and positions).
"""

from __future__ import annotations

import argparse
import time

import torch

from tokshift.bytelevel.bpe import ByteBPE
from tokshift.bytelevel.score import ByteScoreConfig, byte_logprobs, score_bytes
from tokshift.data.corpus import capped_texts, read_corpus
from tokshift.model.base import load_model
from tokshift.model.score import ScoreConfig, bos_id, score_texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="storage/models/base")
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--langs", nargs="+", default=["en", "de", "ru", "code"])
    parser.add_argument("--max-bytes", type=int, default=2000)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    model, tok = load_model(args.model, device=args.device)
    bpe, start, cfg = ByteBPE(tok.backend_tokenizer, args.model), bos_id(tok), ByteScoreConfig()
    score_texts(model, tok, ["warm up"])
    print(f"model {args.model} on {args.device}, test split, {args.max_bytes} bytes per language")
    print(f"{'lang':<5} {'bytes':>6} {'token s':>8} {'whole s':>8} {'ratio':>6} {'per-byte s':>10} {'ratio':>6} "
          f"{'token bpb':>9} {'same-run':>9} {'byte bpb':>9} {'per-byte bpb':>12} {'pos/byte whole':>14} "
          f"{'pos/byte per-byte':>17}")
    totals = [0.0, 0.0, 0.0]
    for lang in args.langs:
        docs = read_corpus(args.corpus, split="test", lang=lang).sort_by("doc_id").column("text").to_pylist()
        texts = capped_texts(docs, args.max_bytes)
        n_bytes = sum(len(t.encode("utf-8")) for t in texts)
        t0 = time.perf_counter()
        token = score_texts(model, tok, texts, ScoreConfig(window=512, stride=384))
        t1 = time.perf_counter()
        whole = score_bytes(model, bpe, start, texts, cfg)
        t2 = time.perf_counter()
        per_byte, positions = [], 0
        for text in texts:
            values, _, ctx = byte_logprobs(model, bpe, start, text, cfg)
            per_byte += values
            positions += ctx.positions
        t3 = time.perf_counter()
        per_byte_bpb = -sum(per_byte) / torch.log(torch.tensor(2.0)).item() / n_bytes
        totals = [totals[0] + t1 - t0, totals[1] + t2 - t1, totals[2] + t3 - t2]
        print(f"{lang:<5} {n_bytes:>6} {t1 - t0:>8.2f} {t2 - t1:>8.2f} {(t2 - t1) / (t1 - t0):>6.2f} "
              f"{t3 - t2:>10.2f} {(t3 - t2) / (t1 - t0):>6.2f} {token.bpb:>9.5f} {whole.token_bpb:>9.5f} "
              f"{whole.bpb:>9.5f} "
              f"{per_byte_bpb:>12.5f} {whole.positions / n_bytes:>14.3f} {positions / n_bytes:>17.3f}")
    print(f"all   ratio whole/token {totals[1] / totals[0]:.2f}, per-byte/token {totals[2] / totals[0]:.2f} "
          f"(token-level positions per byte: the tokens per byte above)")


if __name__ == "__main__":
    main()
