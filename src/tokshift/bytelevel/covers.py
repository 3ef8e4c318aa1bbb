"""The Byte-Token Representation Lemma inside one pretoken: byte prefixes and next bytes as sums over covers.

The probability that a model's output starts with bytes x is the sum, over the token sequences that cover x
(all tokens but the last inside x, the last reaching its end or beyond), of their probabilities. Counting the
sequences the tokenizer itself produces (canonical ones, as Phan et al. 2024 do), the tokens before the last are
the tokenizer's encoding of the bytes they cover, so a cover is a split i plus a last token t:

    P(x) = P(context) * sum_i P(enc(w[:i]) | context) * sum_{t canonical after enc(w[:i]), bytes(t) starts with
    w[i:]} P(t | context, enc(w[:i]))

where the context is the encoding of the text before the open pretoken w (no token crosses a pretoken cut)
and i runs over the last `max token length` bytes. One packed forward over the rows enc(w[:i]) on the
context's cache (context.py) gives every P(enc(w[:i]) | context) and every next-token distribution.
`prefix_logprobs` sums covers of prefixes; `structure_masses` splits the same sum by next byte: each cover
whose last token reaches past x votes for its next byte, and after enc(w) itself every token that may follow
votes for its first byte and specials for the end of text; `next_byte` adds the structures of structures.py
and normalises. Leaves out: where the open pretoken starts (structures.py, score.py, generate.py).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from tokshift.bytelevel.bpe import ByteBPE
from tokshift.bytelevel.context import Context
from tokshift.bytelevel.structures import IS_SPACE, Structure, structures


def rows_for(bpe: ByteBPE, word: bytes, splits: range) -> list[tuple[int, ...]]:
    """The tokenizer's encoding of word[:i] for each split i (the covers' fixed first tokens)."""
    return [bpe.encode(word[:i]) if i else () for i in splits]


def allowed(bpe: ByteBPE, row: tuple[int, ...]) -> np.ndarray:
    """Tokens that may come next after `row` inside one pretoken (after an empty row: any canonical token)."""
    return bpe.allowed_after(row[-1]) if row else bpe.self_canonical()


def extends(bpe: ByteBPE, word: bytes, i: int) -> np.ndarray:
    """Tokens that may follow enc(word[:i]) and spell word[i:] and at least one byte more (split i's votes)."""
    n = len(word)
    if n - i >= bpe.max_len:
        return np.zeros(0, dtype=np.int64)
    cands = bpe.with_prefix(word[i:])
    cands = cands[allowed(bpe, bpe.encode(word[:i]) if i else ())[cands]]
    return cands[bpe.table[cands, n - i] >= 0]


def log_sum(values: list[float]) -> float:
    top = max(values, default=-math.inf)
    return top + math.log(sum(math.exp(v - top) for v in values)) if top > -math.inf else -math.inf


def splits_for(bpe: ByteBPE, ends: list[int]) -> range:
    """Splits i whose covers can reach some end j: the last token spells word[i:j], so j - i <= max token bytes."""
    return range(max(0, min(ends) - bpe.max_len), max(ends))


def cover_sums(bpe: ByteBPE, word: bytes, ends: list[int], splits: range, row_logp: list[float],
               nexts: list[torch.Tensor]) -> list[float]:
    """log P(word[:j] | context) for each j in `ends`, from the rows of `splits` (their log-probabilities and
    next-token log-distributions)."""
    probs, wanted = torch.stack(list(nexts)).exp(), set(ends)
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


def structure_rows(bpe: ByteBPE, structure: Structure) -> tuple[range, list[tuple[int, ...]]]:
    """Splits of the open pretoken and their rows: the lead, then the encoding of word[:i]."""
    n = len(structure.word)
    splits = range(max(0, n - bpe.max_len), n + 1)
    return splits, [structure.lead + row for row in rows_for(bpe, structure.word, splits)]


def structure_masses(bpe: ByteBPE, structure: Structure, splits: range, row_logp: list[float],
                     nexts: list[torch.Tensor]) -> tuple[torch.Tensor, float]:
    """([257] masses of each next byte and, last, of the end of text; the mass on tokens that cannot follow
    canonically), relative to the context before structure.start, for the bytes of the structure's role.
    A split whose row log-probability is -inf (skipped: `extends` found no token) adds nothing.

    Each cover whose last token reaches past the word votes for its next byte; after the word's own encoding
    (the last split) every token that may follow votes for its first byte and specials for the end of text.
    """
    word, n = structure.word, len(structure.word)
    mass = torch.zeros(257, dtype=torch.float64)
    for k, i in enumerate(splits[:-1]):
        cands = extends(bpe, word, i)  # (a token ending exactly at the word's end is split n's row)
        if len(cands) and row_logp[k] > -math.inf:
            after = torch.from_numpy(bpe.table[cands, n - i].astype(np.int64))
            p = nexts[k].cpu()[torch.from_numpy(cands)].double().exp() * math.exp(row_logp[k])
            mass.scatter_add_(0, after, p)
    ok = torch.from_numpy(allowed(bpe, bpe.encode(word) if n else ()))
    outcome = torch.from_numpy(bpe.outcome)  # first byte, 256 for specials
    last = nexts[-1].cpu().exp()
    votes = torch.where(ok | (outcome == 256), last, 0.0)
    mass += torch.zeros(257).index_add_(0, outcome, votes).double() * math.exp(row_logp[-1])
    off = (last.sum() - votes.sum()).item() * math.exp(row_logp[-1])
    if structure.role != "all":
        keep = torch.from_numpy(np.append(IS_SPACE, True))
        mass[keep if structure.role == "other" else ~keep] = 0.0
    return mass, off


def next_byte(ctx: Context, bpe: ByteBPE, data: bytes, open_start: int) -> torch.Tensor:
    """[257] log-probabilities of the next byte after `data` (and, last, of the end of text), normalised.

    `ctx` holds the canonical tokens of data[:open_start] (the text before the open pretoken).
    """
    total = torch.zeros(257, dtype=torch.float64)
    for structure in structures(bpe, data, open_start):
        splits, rows = structure_rows(bpe, structure)
        row_logp, nexts = ctx.branch(rows)
        total += structure_masses(bpe, structure, splits, row_logp, nexts)[0]
    return (total / total.sum()).log().float()
