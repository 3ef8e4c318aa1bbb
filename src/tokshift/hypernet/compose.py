"""Compositional warm-up: base tokens spelled with shorter base pieces, regressed onto their own embeddings.

Every token of a BPE base was made by one merge of two shorter tokens. Keeping only the merges made before a
cutoff re-spells a token the way the base tokenizer with that smaller vocabulary would (`MergeTree.respell`):
the cutoff just below the token's own merge undoes that merge (two pieces), a cutoff of 0 spells it in bytes.
The hypernetwork reads those pieces and its prediction is regressed onto the token's true embeddings
(objective.lexical_loss): examples of exactly the composition a new token needs, at the cost of the
hypernetwork alone (no base-model forward). A seeded share of the tokens is never trained on and measures
whether the composition generalises (`heldout_loss`; at the start it is FVT's: the mean of the pieces).
Leaves out: Unigram and WordPiece bases (no merge tree; refused by name).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch
from tokenizers import Tokenizer

from tokshift.core.errors import InputError
from tokshift.hypernet.model import Hypernetwork
from tokshift.hypernet.objective import lexical_loss
from tokshift.mixture.merges import MergeListError, parse_merges
from tokshift.tokenization.pieces import pad_pieces


@dataclass
class MergeTree:
    left: np.ndarray
    """[V] left piece of the merge that made each token, -1 for tokens no merge made (bytes, specials)."""
    right: np.ndarray
    """[V] right piece of that merge, -1 likewise."""
    rank: np.ndarray
    """[V] position of that merge in the merge list, -1 likewise."""

    @classmethod
    def of(cls, tok: Tokenizer) -> MergeTree:
        """The merge tree of a BPE tokenizer; a one-line error naming the setting for any other kind."""
        try:
            merges = parse_merges(json.loads(tok.to_str()), "the base tokenizer").merges
        except MergeListError as err:
            raise InputError(f"hypernet.compose_steps: the compositional warm-up re-spells base tokens by undoing "
                             f"BPE merges ({err}); set compose_steps: 0 for this base model") from None
        size = max(tok.get_vocab_size(with_added_tokens=True), 1 + max(new for _, _, new in merges))
        left, right, rank = (np.full(size, -1, dtype=np.int64) for _ in range(3))
        for r, (a, b, new) in enumerate(merges):
            left[new], right[new], rank[new] = a, b, r
        return cls(left, right, rank)

    def respell(self, token: int, cutoff: int) -> list[int]:
        """`token` in the pieces left when only merges ranked below `cutoff` are kept (in text order).

        Example: with merges 0 "h e", 1 "l l", 2 "he ll", respell("hell", 2) -> ["he", "ll"], cutoff 0 -> bytes.
        """
        out, stack = [], [token]
        while stack:
            t = stack.pop()
            if self.rank[t] >= cutoff:
                stack += [int(self.right[t]), int(self.left[t])]
            else:
                out.append(t)
        return out

    def draw(self, ids: torch.Tensor, max_pieces: int, generator: torch.Generator, identity: float = 0.0
             ) -> list[list[int]]:
        """Each token re-spelled at a cutoff drawn uniformly from [0, its rank], or kept whole with probability
        `identity`; a spelling longer than max_pieces falls back to undoing the token's own merge only."""
        ranks = torch.from_numpy(self.rank)[ids]
        cutoffs = (torch.rand(len(ids), generator=generator) * (ranks + 1)).long()
        whole = torch.rand(len(ids), generator=generator) < identity
        cutoffs = torch.where(whole, ranks + 1, cutoffs).tolist()
        rows = []
        for t, cut in zip(ids.tolist(), cutoffs, strict=True):
            row = self.respell(t, cut)
            rows.append(row if len(row) <= max_pieces else self.respell(t, int(self.rank[t])))
        return rows


class Composer:
    """The warm-up's examples: the base tokens a merge made, split once (seeded) into trained and held-out."""

    def __init__(self, tok: Tokenizer, max_pieces: int, holdout: float, seed: int, identity: float = 0.0):
        self.tree, self.max_pieces, self.identity = MergeTree.of(tok), max_pieces, identity
        made = np.flatnonzero(self.tree.rank >= 0)
        order = np.random.default_rng(seed).permutation(made)
        cut = int(round(holdout * len(made)))
        self.heldout, self.train = torch.from_numpy(np.sort(order[:cut])), torch.from_numpy(np.sort(order[cut:]))

    def loss(self, core: Hypernetwork, forward, ids: torch.Tensor, generator: torch.Generator,
             identity: float) -> torch.Tensor:
        """Lexical loss of `ids` re-spelled (draw); `forward` is `core` or its DDP wrapper."""
        pieces = pad_pieces(self.tree.draw(ids, self.max_pieces, generator, identity), self.max_pieces)
        pred = forward(pieces.ids, pieces.lengths)
        return lexical_loss(core, pred, torch.arange(len(ids)), ids)

    def step_loss(self, core: Hypernetwork, forward, n: int, generator: torch.Generator) -> torch.Tensor:
        """The loss of n trained tokens drawn at random."""
        ids = self.train[torch.randint(0, len(self.train), (n,), generator=generator)]
        return self.loss(core, forward, ids, generator, self.identity)

    @torch.no_grad()
    def heldout_loss(self, core: Hypernetwork, batch: int = 4096, seed: int = 0) -> float:
        """Mean lexical loss over the held-out tokens at fixed (seeded) cutoffs: the same spellings every call."""
        if not len(self.heldout):
            return float("nan")
        gen, total = torch.Generator().manual_seed(seed), 0.0
        for start in range(0, len(self.heldout), batch):
            ids = self.heldout[start:start + batch]
            total += self.loss(core, core, ids, gen, identity=0.0).item() * len(ids)  # composition only
        return round(total / len(self.heldout), 5)
