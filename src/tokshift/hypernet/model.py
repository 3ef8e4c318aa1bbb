"""The hypernetwork: base-token pieces of a new token -> its input/output embeddings (and LM-head bias).

pieces [N, P] -> frozen base embeddings (input||output when untied), rescaled to unit std -> Linear ->
+ learned positions (an optional language-id embedding goes first) -> Transformer encoder -> first
position -> one zero-initialised head per matrix, scaled by that matrix's std and added to the FVT
residual (the mean of the pieces' base embeddings). So the untrained hypernetwork *is* FVT, and
training is judged by how far it improves on it. `untie` gives a tied base model's new tokens an output
matrix of their own (a second head, also starting from FVT). Leaves out: dropout (training runs are short).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from tokshift.core.params import check
from tokshift.tokenization.pieces import Pieces


@dataclass
class HypernetConfig:
    n_layers: int = 3
    """Transformer encoder layers."""
    hidden: int = 256
    """Encoder width; 0 = the base model's embedding width."""
    n_heads: int = 4
    """Attention heads (hidden must be divisible by it)."""
    ffn_mult: int = 4
    """Feed-forward width as a multiple of hidden."""
    max_pieces: int = 16
    """Base-tokenizer pieces read per token; longer decompositions are truncated (and counted)."""
    langs: list[str] = field(default_factory=list)
    """Language conditioning: a language-id embedding as an extra first position; [] = off."""
    copy_exact: bool = False
    """On: tokens the base vocabulary has verbatim keep their base embeddings (as FVT and FOCUS do), in
    training and transfer alike. Off (default, as in the paper): every token is predicted and the lexical
    loss pulls known tokens towards the base; on the default pipeline this is better (de valid bpb 2.050
    vs 2.212 with copying; FVT 2.178), because re-tuning known tokens for the new tokenizer pays."""

    untie: bool = False
    """For a base model whose LM head is tied to its input embeddings: predict an output matrix of its own (a
    second head, trained through the head's role in the LM loss); the transfer is then an untied model
    (`tie_word_embeddings: false`, one more [V, d] matrix). A base with an untied head always gets both."""

    def __post_init__(self) -> None:
        check(self.n_layers >= 0, "n_layers", f"must be >= 0, got {self.n_layers}")
        check(self.hidden >= 0, "hidden", f"must be >= 0 (0 = model width), got {self.hidden}")
        check(self.n_heads > 0, "n_heads", f"must be > 0, got {self.n_heads}")
        check(self.max_pieces >= 1, "max_pieces", f"must be >= 1, got {self.max_pieces}")


class Hypernetwork(nn.Module):
    """Predicts {'input': [N, d], 'output': [N, d] (untied), 'bias': [N] (LM-head bias)} from Pieces."""

    def __init__(self, cfg: HypernetConfig, base: dict[str, torch.Tensor]):
        super().__init__()
        self.cfg = cfg
        table = torch.cat([base[n].float() for n in ("input", "output") if n in base], dim=1)
        if cfg.untie and "output" not in base:  # a tied base: the output head starts from the shared matrix
            base = {**base, "output": base["input"]}
        self.names = [n for n in ("input", "output", "bias") if n in base]
        dim = base["input"].shape[1]
        hidden = cfg.hidden or dim
        check(hidden % cfg.n_heads == 0, "hidden", f"({hidden}) must be divisible by n_heads ({cfg.n_heads})")
        # Frozen base matrices: not parameters, not saved (checkpoints carry a fingerprint instead).
        for name in self.names:
            self.register_buffer(f"base_{name}", base[name].detach().float().clone(), persistent=False)
            std = base[name].detach().float().std()
            # A constant matrix (e.g. an all-zero LM-head bias) has std 0: use 1 so scales stay finite.
            self.register_buffer(f"std_{name}", std if std > 0 else torch.ones(()), persistent=False)
        self.register_buffer("table", table / table.std(), persistent=False)
        self.proj = nn.Linear(table.shape[1], hidden)
        self.pos = nn.Parameter(torch.zeros(cfg.max_pieces + 1, hidden))
        self.lang = nn.Embedding(len(cfg.langs) + 1, hidden) if cfg.langs else None  # last id: no language
        layer = nn.TransformerEncoderLayer(hidden, cfg.n_heads, cfg.ffn_mult * hidden, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False) if cfg.n_layers else None
        self.norm = nn.LayerNorm(hidden)
        self.heads = nn.ModuleDict({n: nn.Linear(hidden, 1 if n == "bias" else dim) for n in self.names})
        for head in self.heads.values():  # zero heads: the untrained hypernetwork returns the FVT residual
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def lang_id(self, lang: str | None) -> int:
        if not self.cfg.langs or lang is None or lang not in self.cfg.langs:
            return len(self.cfg.langs)
        return self.cfg.langs.index(lang)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, lang: str | None = None,
                bucket: bool = False) -> dict[str, torch.Tensor]:
        """ids [N, P] (padded with -1), lengths [N] -> predicted matrices (rows in the order of ids).

        bucket=True runs each piece count separately (one call, so DDP sees one forward per step).
        """
        if bucket:
            outs, order = [], []
            for length in torch.unique(lengths).tolist():
                idx = torch.nonzero(lengths == length).squeeze(1)
                outs.append(self.forward(ids[idx, :length], lengths[idx], lang))
                order.append(idx)
            inverse = torch.argsort(torch.cat(order)).to(self.table.device)
            return {name: torch.cat([o[name] for o in outs])[inverse] for name in self.names}
        width = int(lengths.max()) if len(lengths) else 1
        ids, device = ids[:, :width], self.table.device
        ids, lengths = ids.to(device), lengths.to(device)
        mask = torch.arange(width, device=device)[None, :] < lengths[:, None]  # [N, P] True = real piece
        safe = ids.clamp(min=0)
        x = self.proj(self.table[safe]) + self.pos[:width]
        if self.lang is not None:
            lang_vec = self.lang.weight[self.lang_id(lang)].expand(len(ids), 1, -1)
            x = torch.cat([lang_vec, x], dim=1)
            mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        if self.encoder is not None:
            x = self.encoder(x, src_key_padding_mask=~mask)
        pooled = self.norm(x[:, 0])
        weights = (mask[:, -width:].float() / lengths[:, None].float().clamp(min=1))  # [N, P] mean over pieces
        out = {}
        for name in self.names:
            base = getattr(self, f"base_{name}")
            with torch.autocast(device.type, enabled=False):  # float32 under bf16 autocast: the residual is FVT exactly
                residual = torch.einsum("np,np...->n...", weights, base[safe])
            delta = self.heads[name](pooled)
            out[name] = residual + (delta.squeeze(-1) if name == "bias" else delta) * getattr(self, f"std_{name}")
        return out

    @torch.no_grad()
    def embed(self, pieces: Pieces, batch_tokens: int = 65536, bucket: bool = True, lang: str | None = None,
              progress: bool = False) -> dict[str, torch.Tensor]:
        """Predicted matrices for every token of `pieces`, in batches of <= batch_tokens pieces (CPU float32 out).

        bucket=True sorts tokens by piece count so a batch of 1-piece tokens does not pay for 7.
        """
        from tqdm import tqdm

        check(batch_tokens >= self.cfg.max_pieces, "batch_tokens", f"must be >= max_pieces, got {batch_tokens}")
        n = len(pieces)
        order = torch.argsort(pieces.lengths, stable=True) if bucket else torch.arange(n)
        out = {name: torch.empty((n, *getattr(self, f"base_{name}").shape[1:])) for name in self.names}
        was_training = self.training
        self.eval()
        start = 0
        with tqdm(total=n, desc="hypernet embed", unit="tok", disable=None if progress else True) as bar:
            while start < n:
                # Batch size by the widest token in it (the last one when bucketed).
                width = self.cfg.max_pieces if not bucket else int(pieces.lengths[order[min(n - 1, start)]])
                step = max(1, batch_tokens // max(width, 1))
                if bucket:
                    step = min(step, max(1, batch_tokens // int(pieces.lengths[order[min(n, start + step) - 1]])))
                idx = order[start:start + step]
                pred = self(pieces.ids[idx], pieces.lengths[idx], lang)
                for name in self.names:
                    out[name][idx] = pred[name].float().cpu()
                start += len(idx)
                bar.update(len(idx))
        self.train(was_training)
        return self.finalize(out, pieces)

    def finalize(self, pred: dict[str, torch.Tensor], pieces: Pieces) -> dict[str, torch.Tensor]:
        """Rows the base cannot spell (pieces.mean_rows) take the mean base embedding; with copy_exact, tokens
        of the base vocabulary (pieces.exact) take their own base rows."""
        out = dict(pred)
        for name, mat in pred.items():
            base = getattr(self, f"base_{name}")
            shape = (-1, *([1] * (mat.dim() - 1)))
            if pieces.mean_rows is not None and bool(pieces.mean_rows.any()):
                rows = pieces.mean_rows.to(mat.device)
                out[name] = torch.where(rows.view(shape), base.mean(0).to(mat.device, mat.dtype), out[name])
            if self.cfg.copy_exact and pieces.exact is not None and bool((pieces.exact >= 0).any()):
                exact = pieces.exact.to(base.device)
                copied = base[exact.clamp(min=0)].to(mat.device, mat.dtype)
                out[name] = torch.where((exact >= 0).to(mat.device).view(shape), copied, out[name])
        return out

    def describe(self) -> dict:
        return {"config": asdict(self.cfg), "matrices": self.names,
                "parameters": sum(p.numel() for p in self.parameters())}
