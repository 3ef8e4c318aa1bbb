"""The Byte-Token Representation Lemma inside one pretoken: probabilities of byte prefixes as sums over covers.

The probability that a model's output starts with bytes x is the sum, over the token sequences that cover x
(all tokens but the last inside x, the last reaching its end or beyond), of their probabilities. Counting the
sequences the tokenizer itself produces (canonical ones, as Phan et al. 2024 do), the tokens before the last are
the tokenizer's encoding of the bytes they cover, so a cover is a split i plus a last token t:

    P(x) = P(context) * sum_i P(enc(w[:i]) | context) * sum_{t canonical after enc(w[:i]), bytes(t) starts with
    w[i:]} P(t | context, enc(w[:i]))

where the context is the encoding of the text before the last pretoken w (a pretoken boundary is kept by the
pre-tokenizer, so no token crosses it) and i runs over the last `max token length` bytes. One batched forward
over the rows enc(w[:i]) on the context's cache (context.py) gives every P(enc(w[:i]) | context) and every
next-token distribution. Next bytes: each cover whose last token reaches past x votes for its next byte, and
the split at the very end (enc(w) then any token) for each token's first byte. Mass on specials (end of text)
and on tokens that cannot follow enc(w) canonically is reported, not spread over bytes.
Leaves out: the pretoken split itself (score.py / generate.py choose w).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from tokshift.bytelevel.bpe import ByteBPE
from tokshift.bytelevel.context import Context


def rows_for(bpe: ByteBPE, word: bytes, splits: range) -> list[tuple[int, ...]]:
    """The tokenizer's encoding of word[:i] for each split i (the covers' fixed first tokens)."""
    return [bpe.encode(word[:i]) if i else () for i in splits]


def allowed(bpe: ByteBPE, row: tuple[int, ...]) -> np.ndarray:
    """Tokens that may come next after `row` inside one pretoken (after an empty row: any canonical token)."""
    ok = bpe.self_canonical()
    return ok & ~bpe.invalid_after(row[-1]) if row else ok


def reaches(bpe: ByteBPE, word: bytes, i: int, row: tuple[int, ...], ends: list[int]) -> bool:
    """Whether split i can have a cover at all: some token spelling word[i:j] (j in ends) may follow `row`.

    It depends on the tokenizer only, so rows that cannot are never run through the model.
    """
    ok = allowed(bpe, row)
    for j in range(i + 1, max(ends) + 1):
        cands = bpe.with_prefix(word[i:j])
        if not len(cands):
            return False
        if j >= min(ends) and ok[cands].any():
            return True
    return False


def log_sum(values: list[float]) -> float:
    top = max(values, default=-math.inf)
    return top + math.log(sum(math.exp(v - top) for v in values)) if top > -math.inf else -math.inf


def splits_for(bpe: ByteBPE, ends: list[int]) -> range:
    """Splits i whose covers can reach some end j: the last token spells word[i:j], so j - i <= max token bytes."""
    return range(max(0, min(ends) - bpe.max_len), max(ends))


def cover_sums(bpe: ByteBPE, word: bytes, ends: list[int], splits: range, row_logp: list[float],
               nexts: torch.Tensor) -> list[float]:
    """log P(word[:j] | context) for each j in `ends`, from the rows of `splits` (their log-probabilities and
    next-token log-distributions)."""
    probs, wanted = nexts.exp(), set(ends)
    terms: dict[int, list[float]] = {j: [] for j in ends}
    for k, i in enumerate(splits):
        ok = None
        for j in range(i + 1, max(ends) + 1):
            cands = bpe.with_prefix(word[i:j])
            if not len(cands):
                break  # no token spells word[i:j], so none spells a longer stretch either
            if j in wanted:
                if ok is None:
                    ok = torch.from_numpy(allowed(bpe, bpe.encode(word[:i]) if i else ())).to(probs.device)
                cands = torch.from_numpy(cands).to(probs.device)
                mass = probs[k, cands][ok[cands]].sum().item()
                if mass > 0:
                    terms[j].append(row_logp[k] + math.log(mass))
    return [log_sum(terms[j]) for j in ends]


def prefix_logprobs(ctx: Context, bpe: ByteBPE, word: bytes, ends: list[int]) -> list[float]:
    """log P(word[:j] | context) for each j in `ends` (1 <= j <= len(word)), natural log, summed over covers."""
    splits = splits_for(bpe, ends)
    row_logp, nexts = ctx.branch(rows_for(bpe, word, splits))
    return cover_sums(bpe, word, ends, splits, row_logp, nexts)


@dataclass
class NextByte:
    """Where the model's next output goes after a byte prefix (unnormalised, relative to the context)."""

    byte_logp: torch.Tensor
    """[256] log-mass of each next byte."""
    end_logp: float
    """log-mass of a special token (end of text) right after the canonical encoding of the prefix."""
    off_logp: float
    """log-mass of tokens that cannot follow that encoding canonically (not counted as bytes)."""
    prefix_logp: float
    """log P(prefix | context): the cover sum the masses above split up."""

    def distribution(self) -> torch.Tensor:
        """[256] normalised next-byte probabilities."""
        return torch.softmax(self.byte_logp, dim=0)


def next_byte(ctx: Context, bpe: ByteBPE, word: bytes) -> NextByte:
    """The next-byte masses after `word` (the bytes of the last pretoken so far, possibly empty) on `ctx`."""
    n = len(word)
    splits = range(max(0, n - bpe.max_len), n + 1)
    rows = rows_for(bpe, word, splits)
    row_logp, nexts = ctx.branch(rows)
    probs = nexts.exp().double()
    mass = torch.zeros(256, dtype=torch.float64)
    covered = 0.0
    for k, i in enumerate(splits[:-1]):
        cands = bpe.with_prefix(word[i:])
        cands = cands[allowed(bpe, rows[k])[cands]]
        if not len(cands):
            continue
        p = probs[k, torch.from_numpy(cands)].cpu() * math.exp(row_logp[k])
        covered += p.sum().item()
        after = torch.tensor([b[n - i] if len(b) > n - i else -1 for b in (bpe.bytes[t] for t in cands)])
        mass.scatter_add_(0, after[after >= 0], p[after >= 0])  # tokens ending exactly at the prefix vote below
    ok = torch.from_numpy(allowed(bpe, rows[-1]))
    first = torch.from_numpy(bpe.first)
    last, weight = probs[-1].cpu(), math.exp(row_logp[-1])
    mass.scatter_add_(0, first[ok], last[ok] * weight)
    special = first < 0
    end = last[special].sum().item() * weight
    off = last[~ok & ~special].sum().item() * weight
    prefix = covered if n else 1.0
    return NextByte(byte_logp=mass.log().float(), end_logp=math.log(end) if end > 0 else -math.inf,
                    off_logp=math.log(off) if off > 0 else -math.inf,
                    prefix_logp=math.log(prefix) if prefix > 0 else -math.inf)
