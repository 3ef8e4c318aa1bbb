"""Byte-level scoring of documents: the exact log-probability of a text's bytes, whole or byte by byte.

Whole (`document_logprob`): by the chain rule, the byte-level log-likelihood of a document is log P(its bytes
are a prefix of the output), one cover sum (covers.py) over its last pretoken after the canonical tokens before
it. Its cost is the token-level scorer's plus one batched forward per document; the result is at or below the
token-level bpb (the canonical tokenization is one of the covers). Byte by byte (`byte_logprobs`): log P(x_n |
x_<n) for every byte, what byte-level ensembles combine; one batched forward per pretoken (the rows of covers.py)
plus one to read the pretoken into the context. Pretoken boundaries are the pre-tokenizer's on the whole text.
Leaves out: masked LMs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel

from tokshift.bytelevel.bpe import ByteBPE
from tokshift.bytelevel.context import Context
from tokshift.bytelevel.covers import cover_sums, reaches, rows_for, splits_for
from tokshift.core.params import check


@dataclass
class ByteScoreConfig:
    window: int = 512
    """Tokens of context at most (as the token-level scorer)."""
    stride: int = 384
    """When the context is full it restarts from its last window - stride tokens."""
    max_tokens: int = 256
    """Covering-row tokens packed into one forward pass (bounds its memory: tokens x vocabulary logits)."""

    def __post_init__(self) -> None:
        check(self.window >= 2, "window", f"must be >= 2, got {self.window}")
        check(0 < self.stride <= self.window - 1, "stride", f"must be in [1, window - 1], got {self.stride}")
        check(self.max_tokens >= 1, "max_tokens", f"must be >= 1, got {self.max_tokens}")


@dataclass
class ByteScore:
    nll_bits: float
    """Summed negative log-likelihood of the bytes, in bits."""
    token_nll_bits: float
    """The same run's negative log-likelihood of the canonical tokens (the token-level score), in bits."""
    n_bytes: int
    """UTF-8 bytes scored."""
    forwards: int = 0
    """Model calls made."""
    positions: int = 0
    """Token positions computed (the cost model: positions / bytes per byte)."""

    @property
    def bpb(self) -> float:
        return self.nll_bits / max(self.n_bytes, 1)

    @property
    def token_bpb(self) -> float:
        return self.token_nll_bits / max(self.n_bytes, 1)


def pretokens(bpe: ByteBPE, text: str) -> list[bytes]:
    """The text's bytes cut at the pre-tokenizer's boundaries."""
    data = text.encode("utf-8")
    starts = bpe.pretoken_starts(text)
    return [data[s:e] for s, e in zip(starts, [*starts[1:], len(data)], strict=True) if e > s]


def chunks(ctx: Context, bpe: ByteBPE, words: list[bytes], window: int):
    """Read `words` into `ctx` in chunks of whole pretokens that fill the window (restarting it from its last
    window - stride tokens when the next pretoken does not fit: `Context.extend`'s regime, cut at pretokens).

    Yields (chunk's words, their encodings, cached tokens before the chunk, [tokens + 1, vocab] log-distributions,
    per-token log-probabilities).
    """
    k = 0
    while k < len(words):
        if len(ctx.ids) + len(bpe.encode(words[k])) > window and len(ctx.ids) > ctx.keep:
            ctx.restart()
        chunk, encs, held = [], [], len(ctx.ids)
        while k < len(words) and (not chunk or held + sum(map(len, encs)) + len(bpe.encode(words[k])) <= window):
            chunk.append(words[k])
            encs.append(bpe.encode(words[k]))
            k += 1
        flat = [i for enc in encs for i in enc]
        _, dists = ctx.read(flat)
        steps = dists[:-1].gather(1, torch.tensor(flat, device=dists.device)[:, None])[:, 0].tolist()
        yield chunk, encs, held, dists, steps


def document_logprob(model: PreTrainedModel, bpe: ByteBPE, start: int, text: str,
                     cfg: ByteScoreConfig) -> tuple[float, float, Context]:
    """Natural-log P(output starts with the bytes of `text`), the log-probability of its canonical tokens under
    the same context (the token-level score), and the context used (for its cost counters)."""
    words = pretokens(bpe, text)
    ctx = Context(model, start, cfg.window, cfg.stride, cfg.max_tokens)
    head = sum(sum(steps) for *_, steps in chunks(ctx, bpe, words[:-1], cfg.window))
    last = words[-1]
    if len(ctx.ids) + len(bpe.encode(last)) > cfg.window and len(ctx.ids) > ctx.keep:
        ctx.restart()
    splits = splits_for(bpe, [len(last)])
    row_logp, nexts = ctx.branch(rows_for(bpe, last, splits) + [bpe.encode(last)])
    byte = cover_sums(bpe, last, [len(last)], splits, row_logp[:-1], nexts[:-1])[0]
    return head + byte, head + row_logp[-1], ctx


def byte_logprobs(model: PreTrainedModel, bpe: ByteBPE, start: int, text: str,
                  cfg: ByteScoreConfig) -> tuple[list[float], Context]:
    """log P(x_n | x_<n) for every byte of `text` (natural log), and the context used.

    Per chunk (`chunks`): one forward reads its canonical tokens, one more per `max_tokens` row tokens scores the
    covering rows of all its pretokens, each row seeing the cache up to its pretoken. Rows that are a prefix of
    their pretoken's canonical encoding are read off the first forward.
    """
    ctx = Context(model, start, cfg.window, cfg.stride, cfg.max_tokens)
    out, base, before = [], 0.0, 0.0  # log P(canonical tokens read), log P(bytes so far)
    for words, encs, held, dists, steps in chunks(ctx, bpe, pretokens(bpe, text), cfg.window):
        jobs, rows, at, first = [], [], [], []  # jobs: (word, splits, row slots, offset); slot < 0: canonical
        offset = 0
        for word, enc in zip(words, encs, strict=True):
            splits = splits_for(bpe, list(range(1, len(word) + 1)))
            slots = []
            for i, row in zip(splits, rows_for(bpe, word, splits), strict=True):
                if row == enc[:len(row)]:  # read off the chunk's forward: after offset + len(row) tokens
                    slots.append(-1 - (offset + len(row)))
                elif not reaches(bpe, word, i, row, [i + 1, len(word)]):
                    slots.append(None)
                else:
                    slots.append(len(rows))
                    rows.append(row)
                    at.append(held + offset)
                    first.append(offset)
            jobs.append((word, splits, slots, offset))
            offset += len(enc)
        row_logp, nexts = ctx.branch(rows, at, dists[first]) if rows else ([], None)
        for word, splits, slots, offset in jobs:
            logps = [-math.inf if s is None else sum(steps[offset:-1 - s]) if s < 0 else row_logp[s] for s in slots]
            dist = torch.stack([dists[0] if s is None else dists[-1 - s] if s < 0 else nexts[s] for s in slots])
            word_base = base + sum(steps[:offset])
            for value in cover_sums(bpe, word, list(range(1, len(word) + 1)), splits, logps, dist):
                out.append(word_base + value - before)
                before = word_base + value
        base += sum(steps)
    return out, ctx


def score_bytes(model: PreTrainedModel, bpe: ByteBPE, start: int, texts: list[str],
                cfg: ByteScoreConfig | None = None) -> ByteScore:
    """Byte-level bits per byte of `texts` (each its own document), with the token-level bits of the same run."""
    cfg = cfg or ByteScoreConfig()
    score = ByteScore(nll_bits=0.0, token_nll_bits=0.0, n_bytes=0)
    for text in texts:
        if not text:
            continue
        byte, token, ctx = document_logprob(model, bpe, start, text, cfg)
        score.nll_bits -= byte / math.log(2)
        score.token_nll_bits -= token / math.log(2)
        score.n_bytes += len(text.encode("utf-8"))
        score.forwards, score.positions = score.forwards + ctx.forwards, score.positions + ctx.positions
    return score
