"""One training step's input, built on the CPU while the previous step computes.

A step's batch (texts, the sampled tokenizer, ids, the pieces of its vocabulary, and for the
distillation objectives the base tokenization of the same text and the aligned boundaries) is a
pure function of (seed, step, rank) and the text caches, so building step s+1 in a background
thread while step s runs the models changes nothing but the wall clock. Leaves out: the models.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch
from tokenizers import Tokenizer

from tokshift.hypernet.align import Alignment, align_batch, boundary_ends
from tokshift.hypernet.sampler import SampledTokenizer, SamplerConfig, sample_tokenizer
from tokshift.hypernet.stream import TextStream
from tokshift.tokenization.pieces import Pieces, decompose_tokens


@dataclass
class StepBatch:
    lang: str
    """Language of the step's texts."""
    sample: SampledTokenizer
    """The step's sampled tokenizer."""
    ids: torch.Tensor
    """[B, T] sampled-tokenizer ids, BOS first, padded with BOS."""
    mask: torch.Tensor
    """[B, T] 1 on real tokens."""
    pieces: Pieces
    """Base pieces of the non-special tokens, in id order after the specials: the whole sampled vocabulary, or
    only the tokens the batch uses (ids renumbered; see used_vocabulary)."""
    known_rows: torch.Tensor
    """Rows of `pieces` whose token the base vocabulary has verbatim ..."""
    known_base: torch.Tensor
    """... and their base ids (targets of the lexical loss)."""
    teacher_ids: torch.Tensor | None = None
    """[B, T_teacher] base ids of the same text (up to the last aligned boundary), BOS first (and EOS last for a
    bidirectional model); None without teacher."""
    teacher_mask: torch.Tensor | None = None
    """[B, T_teacher] 1 on real tokens."""
    align: Alignment | None = None
    """Aligned boundaries of the two tokenizations."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Time each part took to build: sample, encode, pieces, teacher."""


def pad_rows(rows: list[list[int]], fill: int, width: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to at least `width`. Example: [[5, 6], [7]], 0 -> ids [[5, 6], [7, 0]], mask [[1, 1], [1, 0]]."""
    width = max(width, *(len(r) for r in rows))
    ids = torch.full((len(rows), width), fill, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, :len(row)], mask[i, :len(row)] = torch.tensor(row, dtype=torch.long), 1
    return ids, mask


class BatchMaker:
    """Builds StepBatch for a step; `teacher` adds the base tokenization and the alignment.

    `end` / `base_end` (sampled and base ids of EOS) mark a bidirectional model: every state there reads the whole
    text, so the student keeps only the tokens up to its last aligned boundary (both read exactly the same text)
    and both sequences close with EOS, as such an encoder was trained.
    """

    def __init__(self, stream: TextStream, base: Tokenizer, specials: list[str], start: int, base_start: int,
                 seq_len: int, max_pieces: int, sampler: SamplerConfig, seed: int, teacher: bool,
                 used_only: Callable[[int], bool] = lambda step: False, end: int | None = None,
                 base_end: int | None = None):
        self.stream, self.specials, self.start, self.base_start = stream, specials, start, base_start
        self.end, self.base_end = end, base_end
        self.used_only = used_only
        self.seq_len, self.max_pieces, self.sampler, self.seed, self.teacher = (seq_len, max_pieces, sampler,
                                                                               seed, teacher)
        self.base = base
        self.base_vocab = base.get_vocab(with_added_tokens=True)
        if teacher:  # offsets as the pre-tokenizer gives them: a post-processor may trim a token's span
            self.base_plain = Tokenizer.from_str(base.to_str())
            self.base_plain.post_processor = None

    def make(self, step: int) -> StepBatch:
        t0 = time.perf_counter()
        lang, texts = self.stream.push(step)
        rng = np.random.default_rng([self.seed, step, self.stream.rank, 2])
        sample = sample_tokenizer(self.stream.counts[lang], self.base, self.specials, self.sampler, rng)
        t1 = time.perf_counter()
        encs = sample.tokenizer.encode_batch(texts, add_special_tokens=False)
        keep = self.seq_len - (1 if self.end is None else 2)
        # Student boundaries among the kept tokens (the full encoding decides whether the last one is whole).
        s_ends = [{end: i for end, i in boundary_ends(e.offsets).items() if i < keep} for e in encs] \
            if self.teacher else []
        if self.end is None:
            rows = [[self.start, *e.ids[:keep]] for e in encs]
        else:
            rows = [[self.start, *e.ids[:max(ends.values(), default=-1) + 1], self.end] for e, ends in
                    zip(encs, s_ends, strict=True)]
        ids, mask = pad_rows(rows, self.start, self.seq_len)
        t2 = time.perf_counter()
        words = sample.tokens[sample.n_special:]
        if self.used_only(step):
            ids, words = used_vocabulary(ids, sample)
        pieces = decompose_tokens(words, sample.tokenizer, self.base, self.max_pieces)
        known = [(i, self.base_vocab[w]) for i, w in enumerate(words) if w in self.base_vocab]
        t3 = time.perf_counter()
        batch = StepBatch(lang, sample, ids, mask, pieces, torch.tensor([i for i, _ in known], dtype=torch.long),
                          torch.tensor([b for _, b in known], dtype=torch.long))
        if self.teacher:
            cut = [text[:max(ends, default=0)] for text, ends in zip(texts, s_ends, strict=True)]
            t_encs = self.base_plain.encode_batch(cut, add_special_tokens=False)
            close = [] if self.base_end is None else [self.base_end]
            batch.teacher_ids, batch.teacher_mask = pad_rows([[self.base_start, *e.ids, *close] for e in t_encs],
                                                             self.base_start)
            batch.align = align_batch(s_ends, [boundary_ends(e.offsets) for e in t_encs], ids.shape[1],
                                      batch.teacher_ids.shape[1])
        t4 = time.perf_counter()
        batch.seconds = {"sample": t1 - t0, "encode": t2 - t1, "pieces": t3 - t2, "teacher": t4 - t3}
        return batch


def used_vocabulary(ids: torch.Tensor, sample: SampledTokenizer) -> tuple[torch.Tensor, list[str]]:
    """ids renumbered to the tokens the batch uses (specials keep their ids), and those tokens' strings.

    A step that only reads input embeddings (no softmax over the vocabulary) needs the hypernetwork for
    these tokens alone. Example: specials 0-1, ids [[0, 7, 5, 7]] -> [[0, 3, 2, 3]], words [tok 5, tok 7].
    """
    used = sorted(set(ids.flatten().tolist()) - set(range(sample.n_special)))
    lookup = torch.arange(len(sample.tokens))
    lookup[used] = torch.arange(sample.n_special, sample.n_special + len(used))
    return lookup[ids], [sample.tokens[i] for i in used]


class Prefetcher:
    """make(step) for steps in order, building the next step's batch in a background thread."""

    def __init__(self, maker: BatchMaker, last_step: int, background: bool = True):
        self.maker, self.last_step = maker, last_step
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch") if background else None
        self.pending: tuple[int, Future] | None = None

    def get(self, step: int) -> StepBatch:
        if self.pending is not None and self.pending[0] == step:
            batch = self.pending[1].result()
        else:
            batch = self.maker.make(step)
        self.pending = None
        if self.pool is not None and step + 1 < self.last_step:
            self.pending = (step + 1, self.pool.submit(self.maker.make, step + 1))
        return batch

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
