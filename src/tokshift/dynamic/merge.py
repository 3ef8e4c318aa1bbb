"""Dynamic tokenization: merge frequent adjacent base tokens per batch (Feher, Vulić, Minixhofer 2024).

Every text of a batch starts from its base tokenization. Then, as in BPE training but on the batch,
the most frequent adjacent pair of tokens (counted over the whole batch) is merged everywhere, again
and again, until a merge budget or a token-reduction target is reached or no pair may be merged.
Merges stay inside one unit of the `boundary` mode and never touch special tokens, so the dynamic
tokens of a text are consecutive base tokens and concatenate back to exactly its bytes.

The batch is handled as BPE trainers handle a corpus: each distinct unit (a run of base ids that may
merge) is stored once with its count, pair counts are kept incrementally, and the best pair comes
from a heap with lazy deletion, so a merge costs the units that contain the pair, not the batch.
Leaves out: base tokenizers that are not byte-level (their tokens do not concatenate to the text).
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import pairwise

from tokenizers import Tokenizer

from tokshift.core.errors import InputError
from tokshift.core.params import check
from tokshift.tokenization import specials
from tokshift.tokenization.spelling import is_byte_level, metaspace, unknown_id

BOUNDARIES = ("pretoken", "word", "word_hyphen")
# Where a new unit may start in `word` / `word_hyphen` mode: leading whitespace belongs to the word after it.
WORD = re.compile(r"\s*\S+|\s+")
WORD_HYPHEN = re.compile(r"\s*(?:[^\W_]+(?:-[^\W_]+)*|[^\w\s]+|_+)|\s+")


@dataclass
class MergeConfig:
    budget: int = 1000
    """Most merges per batch (0 = the base tokenization)."""
    target_reduction: float = 0.0
    """Stop once the batch has this fraction fewer tokens than its base tokenization (0 = budget only)."""
    boundary: str = "pretoken"
    """pretoken: a dynamic token stays inside one pretoken of the base pre-tokenizer; word: inside one
    whitespace-separated word (with its leading whitespace); word_hyphen: like word, but letters and
    digits join only across hyphens, not other punctuation (`state-of-the-art` merges, `end.` does not)."""
    max_pieces: int = 16
    """Most base tokens in one dynamic token (the hypernetwork's max_pieces)."""
    min_count: int = 2
    """A pair must occur at least this often in the batch to be merged."""

    def __post_init__(self) -> None:
        check(self.budget >= 0, "budget", f"must be >= 0, got {self.budget}")
        check(0.0 <= self.target_reduction < 1.0, "target_reduction", f"must be in [0, 1), got {self.target_reduction}")
        check(self.boundary in BOUNDARIES, "boundary", f"must be one of {list(BOUNDARIES)}, got '{self.boundary}'")
        check(self.max_pieces >= 1, "max_pieces", f"must be >= 1, got {self.max_pieces}")
        check(self.min_count >= 1, "min_count", f"must be >= 1, got {self.min_count}")


@dataclass
class DynamicBatch:
    tokens: list[list[tuple[int, ...]]]
    """Per text, its dynamic tokens, each the tuple of consecutive base ids it merges."""
    base_lengths: list[int]
    """Per text, its number of base tokens."""
    merges: int
    """Merges applied to the batch."""

    @property
    def lengths(self) -> list[int]:
        return [len(t) for t in self.tokens]

    @property
    def reduction(self) -> float:
        """Fraction of base tokens the merges removed, over the batch."""
        base = sum(self.base_lengths)
        return 1.0 - sum(self.lengths) / base if base else 0.0


def units(text: str, ids: list[int], word_ids: list[int | None], offsets: list[tuple[int, int]],
          special: set[int], boundary: str) -> list[list[int]]:
    """Split one text's base ids into the runs that may merge (specials alone)."""
    if boundary == "pretoken":
        starts = None
    else:
        pattern = WORD if boundary == "word" else WORD_HYPHEN
        starts = {m.start() for m in pattern.finditer(text)}
    out: list[list[int]] = []
    for i, tid in enumerate(ids):
        cut = i == 0 or tid in special or ids[i - 1] in special
        if not cut and starts is None:
            cut = word_ids[i] != word_ids[i - 1]
        elif not cut:
            cut = any(s in starts for s in range(offsets[i - 1][0] + 1, offsets[i][0] + 1))
        if cut:
            out.append([tid])
        else:
            out[-1].append(tid)
    return out


def bpe(words: list[list[tuple[int, ...]]], freq: list[int], cfg: MergeConfig, stop_at: int = -1) -> list[tuple]:
    """BPE merges on distinct units `words` (symbols are tuples of base ids) seen `freq` times, in place.

    Stops after cfg.budget merges, once the total symbol count is <= stop_at, or when no pair occurring
    >= cfg.min_count times fits in cfg.max_pieces base ids. Returns the merged pairs in order.
    """
    total = sum(len(w) * f for w, f in zip(words, freq, strict=True))

    pairs: Counter = Counter()
    where: dict[tuple, set[int]] = defaultdict(set)
    for w, (symbols, f) in enumerate(zip(words, freq, strict=True)):
        for pair in pairwise(symbols):
            pairs[pair] += f
            where[pair].add(w)
    heap = [(-n, pair) for pair, n in pairs.items() if len(pair[0]) + len(pair[1]) <= cfg.max_pieces]
    heapq.heapify(heap)

    merges: list[tuple] = []
    while len(merges) < cfg.budget and heap and total > stop_at:
        neg, pair = heapq.heappop(heap)
        if pairs.get(pair, 0) != -neg:  # stale entry: the count changed since it was pushed
            continue
        if -neg < cfg.min_count:
            break
        merged = pair[0] + pair[1]
        touched: Counter = Counter()
        for w in sorted(where.pop(pair)):
            symbols, f = words[w], freq[w]
            for old in pairwise(symbols):
                pairs[old] -= f
                touched[old] += 1
            out, i = [], 0
            while i < len(symbols):  # left to right, non-overlapping, as BPE does
                if i + 1 < len(symbols) and symbols[i] == pair[0] and symbols[i + 1] == pair[1]:
                    out.append(merged)
                    total -= f
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            words[w] = out
            for new in pairwise(out):
                pairs[new] += f
                where[new].add(w)
                touched[new] += 1
        pairs.pop(pair, None)
        for p in touched:
            if pairs.get(p, 0) <= 0:
                pairs.pop(p, None)
                where.pop(p, None)
            elif len(p[0]) + len(p[1]) <= cfg.max_pieces:
                heapq.heappush(heap, (-pairs[p], p))
        merges.append(pair)
    return merges


def merge_units(batch_units: list[list[list[int]]], cfg: MergeConfig) -> tuple[list[list[tuple[int, ...]]], int]:
    """BPE on a batch: per text its dynamic tokens (tuples of base ids), and the number of merges."""
    index: dict[tuple[int, ...], int] = {}
    words: list[list[tuple[int, ...]]] = []  # each distinct unit as its current symbols
    freq: list[int] = []
    layout: list[list[int]] = []  # per text, the distinct-unit index of each of its units
    for text_units in batch_units:
        row = []
        for unit in text_units:
            key = tuple(unit)
            if key not in index:
                index[key] = len(words)
                words.append([(t,) for t in unit])
                freq.append(0)
            freq[index[key]] += 1
            row.append(index[key])
        layout.append(row)
    total = sum(len(w) * f for w, f in zip(words, freq, strict=True))
    stop_at = total - int(cfg.target_reduction * total) if cfg.target_reduction else -1
    merges = bpe(words, freq, cfg, stop_at)
    return [[s for u in row for s in words[u]] for row in layout], len(merges)


def base_encode(texts: list[str], base: Tokenizer) -> list:
    """Base encodings (no added BOS/EOS) of `texts`; the base must be byte-level or SentencePiece-style so tokens
    concatenate to the text."""
    if not is_byte_level(base) and metaspace(base) is None:
        raise InputError("dynamic tokenization needs a byte-level or SentencePiece-style (Metaspace) base tokenizer, "
                         "whose tokens concatenate back to the text; this base tokenizer is neither")
    return base.encode_batch(texts, add_special_tokens=False)


def dynamic_tokenize(texts: list[str], base: Tokenizer, cfg: MergeConfig,
                     special_ids: set[int] | None = None) -> DynamicBatch:
    """The dynamic tokens of a batch of texts (see the module doc)."""
    if not texts:
        raise InputError("dynamic tokenization needs at least one text in the batch")
    special = set(special_ids) if special_ids is not None else specials.special_ids(base)
    if (unk := unknown_id(base)) is not None:
        special.add(unk)  # an unknown character has no spelling to merge
    encs = base_encode(texts, base)
    batch_units = [units(text, e.ids, e.word_ids, e.offsets, special, cfg.boundary)
                   for text, e in zip(texts, encs, strict=True)]
    tokens, merges = merge_units(batch_units, cfg)
    return DynamicBatch(tokens=tokens, base_lengths=[len(e.ids) for e in encs], merges=merges)
