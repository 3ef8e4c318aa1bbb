"""Dynamic merging time per batch, as a fraction of one base-model forward pass on that batch.

    python bench/dynamic_merge.py [--model storage/models/base] [--corpus storage/corpus/corpus.parquet]
                                  [--lang de] [--docs 32] [--tokens 256] [--budget 1000] [--device cpu|cuda]

The batch is the first `docs` test documents, each cut to `tokens` base tokens. tokshift's merger
(distinct units counted once, incremental pair counts, a heap) is timed against a plain loop that
recounts every pair of the batch before each merge; both must produce the same tokens (checked).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from itertools import pairwise

import torch

from tokshift.data.corpus import read_corpus
from tokshift.dynamic.merge import MergeConfig, base_encode, dynamic_tokenize, units
from tokshift.model.base import load_model
from tokshift.tokenization.specials import special_ids


def plain_merges(batch_units: list[list[list[int]]], cfg: MergeConfig) -> tuple[list[list[tuple]], int]:
    """The baseline: recount all pairs of the batch for every merge, then merge everywhere."""
    seqs = [[[(t,) for t in unit] for unit in text] for text in batch_units]
    merges = 0
    while merges < cfg.budget:
        counts = Counter(p for text in seqs for unit in text for p in pairwise(unit)
                         if len(p[0]) + len(p[1]) <= cfg.max_pieces)
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))  # most frequent, ties by the smaller pair
        if counts[pair] < cfg.min_count:
            break
        for text in seqs:
            for k, unit in enumerate(text):
                out, i = [], 0
                while i < len(unit):
                    if i + 1 < len(unit) and unit[i] == pair[0] and unit[i + 1] == pair[1]:
                        out.append(pair[0] + pair[1])
                        i += 2
                    else:
                        out.append(unit[i])
                        i += 1
                text[k] = out
        merges += 1
    return [[s for unit in text for s in unit] for text in seqs], merges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="storage/models/base")
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--lang", default="de")
    parser.add_argument("--docs", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    model, tok = load_model(args.model)
    model.to(args.device).eval()
    base = tok.backend_tokenizer
    docs = read_corpus(args.corpus, split="test", lang=args.lang).sort_by("doc_id").column("text").to_pylist()
    texts = []
    for doc in docs:
        enc = base.encode(doc, add_special_tokens=False)
        if len(enc.ids) > args.tokens:
            texts.append(doc[:enc.offsets[args.tokens][0]])
        if len(texts) == args.docs:
            break
    cfg = MergeConfig(budget=args.budget)
    special = special_ids(base)

    def best_of(fn, repeats=3):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - start)
        return min(times), out

    t_ours, ours = best_of(lambda: dynamic_tokenize(texts, base, cfg))

    def plain():
        encs = base_encode(texts, base)
        return plain_merges([units(t, e.ids, e.word_ids, e.offsets, special, cfg.boundary)
                             for t, e in zip(texts, encs, strict=True)], cfg)

    t_plain, (plain_tokens, plain_n) = best_of(plain, repeats=1)
    assert plain_tokens == ours.tokens and plain_n == ours.merges, "both mergers must give the same tokens"

    width = max(ours.base_lengths)
    ids = torch.full((len(texts), width), tok.pad_token_id or 0, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, n in enumerate(ours.base_lengths):
        ids[row, :n] = torch.tensor(base_encode([texts[row]], base)[0].ids)
        mask[row, :n] = 1
    ids, mask = ids.to(args.device), mask.to(args.device)

    def forward():
        with torch.no_grad():
            model(input_ids=ids, attention_mask=mask)
        if args.device == "cuda":
            torch.cuda.synchronize()

    forward()  # warm-up
    t_fwd, _ = best_of(forward)
    print(f"batch: {len(texts)} x {width} base tokens ({sum(ours.base_lengths):,}), lang {args.lang}, "
          f"budget {args.budget}: {ours.merges} merges, {100 * ours.reduction:.1f}% fewer tokens")
    print(f"plain merge loop : {1000 * t_plain:9.1f} ms")
    print(f"tokshift merger  : {1000 * t_ours:9.1f} ms")
    print(f"forward pass ({args.device}): {1000 * t_fwd:9.1f} ms")
    print(f"tokshift / plain speed: {t_plain / t_ours:.1f}x")
    print(f"merge time / forward time: {t_ours / t_fwd:.3f} (plain: {t_plain / t_fwd:.3f})")


if __name__ == "__main__":
    main()
