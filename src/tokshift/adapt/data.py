"""Training sequences for adaptation: the target tokenizer's ids of the train text, cut into equal chunks.

Documents are joined with the tokenizer's BOS (else EOS) token and the stream is cut into `seq_len`
chunks; step s takes the chunks at positions s*batch .. s*batch+batch-1 of a seeded permutation per
epoch, so a batch is a pure function of the step and a resumed run sees exactly the batches it would
have seen.
"""

from __future__ import annotations

import torch
from transformers import PreTrainedTokenizerBase

from tokshift.core.errors import InputError
from tokshift.model.score import bos_id


def token_chunks(texts: list[str], tokenizer: PreTrainedTokenizerBase, seq_len: int, where: str,
                 start: int | None = None) -> torch.Tensor:
    """[n, seq_len] ids of `texts` (each after `start`, default BOS/EOS); an InputError naming `where` when n
    would be 0."""
    start, ids = bos_id(tokenizer) if start is None else start, []
    for text in texts:
        ids.append(start)
        ids.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
    n = len(ids) // seq_len
    if n == 0:
        raise InputError(f"{where}: {len(ids)} tokens of training text, fewer than one sequence of {seq_len}; "
                         f"the tokenizer's languages need train text in the corpus (or lower adapt.seq_len)")
    return torch.tensor(ids[:n * seq_len], dtype=torch.long).view(n, seq_len)


class Batches:
    """Rows of step `s` over `n` chunks: consecutive slices of one seeded permutation per epoch."""

    def __init__(self, n: int, batch_size: int, seed: int):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self._perms: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perms:
            self._perms = {epoch: torch.randperm(self.n, generator=torch.Generator().manual_seed(
                self.seed * 1_000_003 + epoch))}
        return self._perms[epoch]

    def rows(self, step: int) -> list[int]:
        out = []
        for i in range(step * self.batch_size, (step + 1) * self.batch_size):
            epoch, pos = divmod(i, self.n)
            out.append(int(self._perm(epoch)[pos]))
        return out
