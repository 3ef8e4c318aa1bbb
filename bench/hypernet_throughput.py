"""New-token embeddings per second of the hypernetwork for a 100k-token vocabulary, bucketed vs unbucketed,
and its achieved FLOP/s against a plain `torch.matmul` of the same shapes in the same run.

    python bench/hypernet_throughput.py [--vocab 100000] [--hidden 256] [--layers 3] [--max-pieces 16]
                                        [--tokenizer storage/tokenizers/multi-bpe-32k] [--device cpu|cuda]

Base embeddings are SmolLM2-135M-shaped (49,152 x 576, tied), random: speed does not depend on their
values. Piece counts are resampled from the real decomposition of --tokenizer by the base tokenizer
when both exist (else a geometric distribution with mean 3.2, the multi-bpe-32k mean), so buckets are
as in practice. FLOPs are counted analytically (projection, attention, feed-forward, heads) over the
positions each mode actually computes; the matmul baseline is the feed-forward's [tokens*pieces, h] x
[h, 4h] product, the shape that dominates, timed the same way.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from tokshift.hypernet.model import HypernetConfig, Hypernetwork
from tokshift.tokenization.pieces import Pieces


def piece_counts(n: int, max_pieces: int, tokenizer: Path, base: Path, gen: torch.Generator) -> torch.Tensor:
    if tokenizer.exists() and base.exists():
        from transformers import AutoTokenizer

        from tokshift.tokenization.pieces import decompose_tokens

        target, base_tok = AutoTokenizer.from_pretrained(tokenizer), AutoTokenizer.from_pretrained(base)
        tokens = list(target.backend_tokenizer.get_vocab())
        real = decompose_tokens(tokens, target.backend_tokenizer, base_tok.backend_tokenizer, 64).lengths
        source = f"{tokenizer} decomposed by {base}"
        counts = real[torch.randint(len(real), (n,), generator=gen)]
    else:
        source = "geometric, mean 3.2"
        counts = torch.distributions.Geometric(probs=torch.tensor(1 / 3.2)).sample((n,)).long() + 1
    print(f"piece counts: {source}")
    return counts.clamp(1, max_pieces)


def model_flops(lengths: torch.Tensor, width: torch.Tensor, hidden: int, layers: int, d_in: int, d_out: int) -> float:
    """Forward FLOPs for tokens padded to `width` positions each (lengths only for nothing: padding counts)."""
    w = width.double()
    per_layer = w * (8 * hidden**2 + 16 * hidden**2) + 4 * w * w * hidden  # qkv+out, ffn, scores+mix
    return float((2 * w * d_in * hidden + layers * per_layer + 2 * hidden * d_out).sum())


def timed(fn, repeats: int, warmup=None) -> float:
    (warmup or fn)()  # first-call costs (allocation, thread pools) stay out of the timing
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocab", type=int, default=100_000)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--max-pieces", type=int, default=16)
    parser.add_argument("--batch-tokens", type=int, default=65536)
    parser.add_argument("--tokenizer", default="storage/tokenizers/multi-bpe-32k")
    parser.add_argument("--base", default="storage/models/base")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    gen = torch.Generator().manual_seed(0)
    dim, base_vocab = 576, 49152
    base = {"input": torch.randn(base_vocab, dim, generator=gen) * 0.05}
    cfg = HypernetConfig(n_layers=args.layers, hidden=args.hidden, n_heads=args.heads, max_pieces=args.max_pieces)
    hyper = Hypernetwork(cfg, base).to(args.device)
    for p in hyper.heads.parameters():
        torch.nn.init.normal_(p, std=0.02)
    lengths = piece_counts(args.vocab, args.max_pieces, Path(args.tokenizer), Path(args.base), gen)
    ids = torch.randint(base_vocab, (args.vocab, args.max_pieces), generator=gen)
    ids[torch.arange(args.max_pieces)[None, :] >= lengths[:, None]] = -1
    pieces = Pieces(ids, lengths)
    small = Pieces(ids[:4096], lengths[:4096])
    print(f"vocabulary {args.vocab:,} tokens, mean pieces {lengths.float().mean():.2f}, hidden {cfg.hidden}, "
          f"{cfg.n_layers} layers, device {args.device}, {torch.get_num_threads()} threads")

    results = {}
    for bucket in (False, True):
        seconds = timed(lambda b=bucket: hyper.embed(pieces, batch_tokens=args.batch_tokens, bucket=b), args.repeats,
                        warmup=lambda b=bucket: hyper.embed(small, batch_tokens=args.batch_tokens, bucket=b))
        # Positions actually computed: bucketed batches pad to their own width, unbucketed ones to the batch max.
        width = lengths.clone() if bucket else unbucketed_width(lengths, args.batch_tokens, args.max_pieces)
        flops = model_flops(lengths, width, cfg.hidden, cfg.n_layers, dim, dim)
        useful = model_flops(lengths, lengths, cfg.hidden, cfg.n_layers, dim, dim)
        results[bucket] = (seconds, flops, useful)
        print(f"{'bucketed  ' if bucket else 'unbucketed'}: {args.vocab / seconds:>10,.0f} tokens/s  "
              f"{seconds:6.2f} s  computed {flops / seconds / 1e9:7.1f} GFLOP/s  useful {useful / seconds / 1e9:7.1f}")

    rows = int(lengths.sum())
    a = torch.randn(rows, cfg.hidden, device=args.device)
    b = torch.randn(cfg.hidden, 4 * cfg.hidden, device=args.device)
    mm_seconds = timed(lambda: torch.matmul(a, b), args.repeats + 1)
    mm_flops = 2 * rows * cfg.hidden * 4 * cfg.hidden / mm_seconds
    print(f"torch.matmul [{rows}, {cfg.hidden}] x [{cfg.hidden}, {4 * cfg.hidden}]: {mm_flops / 1e9:7.1f} GFLOP/s")
    (ub_s, _, _), (b_s, _, b_useful) = results[False], results[True]
    print(f"bucketed / unbucketed speed: {ub_s / b_s:.2f}x")
    print(f"bucketed useful FLOP/s / matmul FLOP/s: {b_useful / b_s / mm_flops:.2f}")


def unbucketed_width(lengths: torch.Tensor, batch_tokens: int, max_pieces: int) -> torch.Tensor:
    """Per-token computed positions without bucketing: every token pays its batch's longest decomposition."""
    step = max(1, batch_tokens // max_pieces)
    width = torch.empty_like(lengths)
    for start in range(0, len(lengths), step):
        width[start:start + step] = lengths[start:start + step].max()
    return width


if __name__ == "__main__":
    main()
