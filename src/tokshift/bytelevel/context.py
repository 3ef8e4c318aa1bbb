"""A causal LM's running context: its KV cache, the log-probability of what it holds, and rows scored on top of it.

`read` appends tokens (the canonical encoding of the text so far) and returns the log-distribution after each;
when the cache would pass `window` tokens it restarts from the last `window - stride` tokens, the context regime
of the token-level scorer (model/score.py). `branch` scores a batch of short token rows, each starting after the
first `at` tokens of the cache (the covering sequences of covers.py, for several pretokens at once): the cache is
shared, expanded over the batch without copying, and an attention mask hides from each row the cached tokens
after its own start. Per row: its log-probability and the next-token log-distribution after it.
Leaves out: models without a KV cache.
"""

from __future__ import annotations

import inspect

import torch
from transformers import DynamicCache, PreTrainedModel


class Context:
    """Tokens read so far by `model`, starting with `start` (BOS or EOS), with their KV cache."""

    def __init__(self, model: PreTrainedModel, start: int, window: int = 512, stride: int = 384,
                 max_tokens: int = 256) -> None:
        self.model, self.window, self.keep, self.max_tokens = model, window, window - stride, max_tokens
        # Newer transformers name the KV cache `cache`, older ones `past_key_values`.
        self.cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
        self.ids: list[int] = []
        self.cache: DynamicCache | None = None
        self.last: torch.Tensor | None = None  # log-distribution of the token after self.ids
        self.forwards = 0  # model calls, for the cost model
        self.positions = 0  # token positions computed
        self._run([start])

    @torch.no_grad()
    def _run(self, ids: list[int]) -> torch.Tensor:
        """Feed `ids` after the cache; the log-distributions after each of them (float32)."""
        device = self.model.device
        start = len(self.ids)
        out = self.model(input_ids=torch.tensor([ids], device=device), use_cache=True, **{self.cache_arg: self.cache},
                         position_ids=torch.arange(start, start + len(ids), device=device)[None])
        self.cache, self.ids = getattr(out, self.cache_arg), self.ids + list(ids)
        self.forwards, self.positions = self.forwards + 1, self.positions + len(ids)
        logp = torch.log_softmax(out.logits[0].float(), dim=-1)
        self.last = logp[-1]
        return logp

    def restart(self) -> None:
        """Keep only the last window - stride tokens (recomputed from scratch)."""
        kept = self.ids[-self.keep:]
        self.ids, self.cache = [], None
        self._run(kept)

    def make_room(self, n: int) -> None:
        """Restart if `n` more tokens would not fit in the window (and there is more than the kept part)."""
        if len(self.ids) + n > self.window and len(self.ids) > self.keep:
            self.restart()

    def read(self, ids: list[int]) -> tuple[float, torch.Tensor]:
        """Append `ids` as they are (no restart); their summed log-probability (natural log) and
        [len(ids) + 1, vocab] log-distributions: the one before the first id, then the one after each id."""
        before = self.last
        dists = torch.cat([before[None], self._run(ids)])
        return dists[:-1].gather(1, torch.tensor(ids, device=dists.device)[:, None]).sum().item(), dists

    def extend(self, ids: list[int]) -> float:
        """Append any number of `ids`, filling the window before each restart (the token-level scorer's windows);
        their summed log-probability given what the context held."""
        total = 0.0
        while ids:
            if len(self.ids) >= self.window:
                self.restart()
            take = ids[:self.window - len(self.ids)]
            total += self.read(take)[0]
            ids = ids[len(take):]
        return total

    def branch(self, rows: list[tuple[int, ...]], at: list[int] | None = None,
               first: list[float] | None = None) -> tuple[list[float], list[torch.Tensor]]:
        """Score rows after the first at[r] cached tokens (default: all the cache).

        Returns (log-probability of each row, next-token log-distribution after each). first[r] is the
        log-probability of row r's first token (known to the caller from the distribution at at[r]); by default
        the rows start at the end of the cache and it comes from there. An empty row costs nothing: log-probability
        0, the cache's last distribution (only at the end of the cache).
        """
        at = at if at is not None else [len(self.ids)] * len(rows)
        if first is None:
            first = [self.last[row[0]].item() if row else 0.0 for row in rows]
        logps, nexts = [0.0] * len(rows), [self.last] * len(rows)
        batch: list[int] = []
        for k in [k for k, row in enumerate(rows) if row]:
            if batch and sum(len(rows[b]) for b in batch) + len(rows[k]) > self.max_tokens:
                self._branch_packed(rows, batch, at, first, logps, nexts)
                batch = []
            batch.append(k)
        if batch:
            self._branch_packed(rows, batch, at, first, logps, nexts)
        return logps, nexts

    @torch.no_grad()
    def _branch_packed(self, rows: list[tuple[int, ...]], todo: list[int], at: list[int], first: list[float],
                       logps: list[float], nexts: list[torch.Tensor]) -> None:
        """Score rows[k] for k in `todo` in one forward of one packed sequence: rows sharing a start and a prefix
        share its positions (a trie); a 4D mask lets each position see the cache before its row's start and its
        own ancestors. The cache is cropped back afterwards."""
        node: dict[tuple[int, int, int], int] = {}  # (start, parent node or -1, token) -> position in the pack
        tokens, parents, positions, paths = [], [], [], {}
        for k in todo:
            parent, path = -1, []
            for depth, token in enumerate(rows[k]):
                key = (at[k], parent, token)
                if key not in node:
                    node[key] = len(tokens)
                    tokens.append(token)
                    parents.append(parent)
                    positions.append(at[k] + depth)
                parent = node[key]
                path.append(parent)
            paths[k] = path
        q, held, device = len(tokens), len(self.ids), self.model.device
        allowed = torch.zeros((q, held + q), dtype=torch.bool)
        for n in range(q):
            a = n
            while a >= 0:
                allowed[n, held + a] = True
                root, a = a, parents[a]
            allowed[n, :positions[root]] = True  # the cache before the row's start
        mask = torch.zeros(allowed.shape).masked_fill(~allowed, torch.finfo(torch.float32).min)
        out = self.model(input_ids=torch.tensor([tokens], device=device), position_ids=torch.tensor([positions],
                         device=device), attention_mask=mask[None, None].to(device), use_cache=True,
                         **{self.cache_arg: self.cache})
        self.cache.crop(-q)  # drop the packed rows again (a negative count removes that many)
        self.forwards, self.positions = self.forwards + 1, self.positions + q
        logp = torch.log_softmax(out.logits[0].float(), dim=-1)
        for k in todo:
            path, row = paths[k], rows[k]
            rest = logp[path[:-1]].gather(1, torch.tensor(row[1:], device=device, dtype=torch.long)[:, None])
            logps[k] = first[k] + rest.sum().item()
            nexts[k] = logp[path[-1]]
