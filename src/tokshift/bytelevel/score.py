"""Byte-level scoring of documents: the exact log-probability of a text's bytes, whole or byte by byte.

Whole (`document_logprob`, `score_bytes`): the byte-level log-likelihood of a document is log P(its bytes are
a prefix of the output): the canonical tokens up to its last pretoken, then one cover sum (covers.py) over that
pretoken. It costs the token-level scorer's forwards plus one packed forward per document and is at or below
the token-level score of the same run (the canonical tokenization is one of the covers). Byte by byte
(`byte_logprobs`): the normalised next-byte distribution before every byte, seeing only the bytes before it,
what byte-level ensembles combine. Both read the text in chunks of whole pretokens (`chunks`).
Leaves out: masked LMs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedModel

from tokshift.bytelevel.bpe import ByteBPE
from tokshift.bytelevel.context import Context
from tokshift.bytelevel.covers import cover_sums, extends, rows_for, splits_for, structure_masses, structure_rows
from tokshift.bytelevel.structures import IS_SPACE, structures
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


def is_space(word: bytes) -> bool:
    return bool(IS_SPACE[np.frombuffer(word, dtype=np.uint8)].all())


def pretokens(bpe: ByteBPE, text: str) -> list[bytes]:
    """The text's bytes cut at the pre-tokenizer's boundaries."""
    data = text.encode("utf-8")
    starts = bpe.pretoken_starts(text)
    return [data[s:e] for s, e in zip(starts, [*starts[1:], len(data)], strict=True) if e > s]


def chunks(ctx: Context, bpe: ByteBPE, words: list[bytes]):
    """Read `words` into `ctx` in chunks of whole pretokens that fill the window (restarting it from its last
    window - stride tokens when the next pretoken does not fit: `Context.extend`'s regime, cut at pretokens).
    A chunk never ends on whitespace, so the structures after a whitespace run (structures.py) start inside it.

    Yields (chunk's words, their encodings, cached tokens before the chunk, [tokens + 1, vocab] log-distributions,
    per-token log-probabilities).
    """
    k = 0
    while k < len(words):
        ctx.make_room(len(bpe.encode(words[k])))
        chunk, encs, held = [], [], len(ctx.ids)
        while k < len(words) and (not chunk or held + sum(map(len, encs)) + len(bpe.encode(words[k])) <= ctx.window
                                  or is_space(chunk[-1])):  # a whitespace run and what follows share a chunk
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
    head = sum(sum(steps) for *_, steps in chunks(ctx, bpe, words[:-1]))
    last = words[-1]
    ctx.make_room(len(bpe.encode(last)))
    splits = splits_for(bpe, [len(last)])
    row_logp, nexts = ctx.branch(rows_for(bpe, last, splits) + [bpe.encode(last)])
    byte = cover_sums(bpe, last, [len(last)], splits, row_logp[:-1], nexts[:-1])[0]
    return head + byte, head + row_logp[-1], ctx


def byte_logprobs(model: PreTrainedModel, bpe: ByteBPE, start: int, text: str, cfg: ByteScoreConfig,
                  keep: bool = False) -> tuple[list[float], list[torch.Tensor], Context]:
    """log P(x_n | x_<n) for every byte of `text` (natural log), from normalised next-byte distributions that
    see only the bytes before (structures.py); with `keep` also each whole [257] distribution (256 bytes, end).

    Per chunk of pretokens: one forward reads their canonical tokens, then one forward per `max_tokens` packed
    row tokens scores the rows of every position's structures that are not canonical (those are read off the
    first forward), each seeing the cache up to its structure's start and no further.
    """
    data = text.encode("utf-8")
    ctx = Context(model, start, cfg.window, cfg.stride, cfg.max_tokens)
    word_of = np.zeros(len(data) + 1, dtype=np.int64)  # byte -> start of its pretoken
    out, full, pos = [], [], 0
    for words, encs, held, dists, steps in chunks(ctx, bpe, pretokens(bpe, text)):
        chunk_start, token_at, offset = pos, {}, 0  # token_at: pretoken's byte offset -> token offset in chunk
        for word, enc in zip(words, encs, strict=True):
            token_at[pos], word_of[pos:pos + len(word)] = offset, pos
            pos, offset = pos + len(word), offset + len(enc)
        flat = [i for enc in encs for i in enc]
        steps = np.concatenate([[0.0], np.cumsum(steps)])  # log-probability of the chunk's first j tokens
        positions = ([0] if chunk_start == 0 else []) + list(range(chunk_start + 1, min(pos, len(data) - 1) + 1))
        row_index: dict[tuple[int, tuple[int, ...]], int] = {}
        plans = []
        for n in positions:
            plan = []
            for structure in structures(bpe, data[:n], int(word_of[n - 1]) if n else 0):
                off = token_at[structure.start]
                at = held + off
                splits, rows = structure_rows(bpe, structure)
                slots = []
                for i, row in zip(splits, rows, strict=True):
                    if tuple(flat[off:off + len(row)]) == row:  # canonical: read off the chunk's forward
                        slots.append(("read", off, off + len(row)))
                    elif i < len(structure.word) and not len(extends(bpe, structure.word, i)):
                        slots.append(None)  # no cover votes from this split
                    else:
                        slots.append(("row", row_index.setdefault((at, off, row), len(row_index))))
                plan.append((structure, splits, slots))
            plans.append((n, plan))
        keys = list(row_index)
        row_logp, nexts = ctx.branch([row for *_, row in keys], [at for at, *_ in keys],
                                     [dists[off, row[0]].item() for _, off, row in keys])
        for n, plan in plans:
            mass = 0
            for structure, splits, slots in plan:
                logps = [-math.inf if s is None else steps[s[2]] - steps[s[1]] if s[0] == "read" else row_logp[s[1]]
                         for s in slots]
                dist = [dists[0] if s is None else dists[s[2]] if s[0] == "read" else nexts[s[1]] for s in slots]
                mass = mass + structure_masses(bpe, structure, splits, logps, dist)[0]
            logd = (mass / mass.sum()).log().float()
            out.append(logd[data[n]].item())
            if keep:
                full.append(logd)
    return out, full, ctx


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
