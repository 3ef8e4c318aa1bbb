"""Bits per byte: a causal LM's next-token loss, in bits, over the UTF-8 bytes of the text it scored.

Each document is tokenized by the tokenizer under test, preceded by the model's BOS (or EOS)
token so that the first real token is predicted too; long documents are scored in windows of
`window` tokens that overlap, every token scored exactly once with at least `window - stride`
tokens of context (none in the first window). Windows from all documents are sorted by length and
batched with padding and attention masks. Because the denominator is bytes, not tokens, the
numbers compare across tokenizers. Leaves out: masked LMs (pseudo-likelihood).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tqdm import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tokshift.core.errors import InputError
from tokshift.core.params import check


@dataclass
class ScoreConfig:
    window: int = 512
    """Tokens per forward pass (context + scored)."""
    stride: int = 384
    """New tokens scored per window; window - stride tokens of overlap give later windows context."""
    batch_tokens: int = 0
    """Padded tokens per batch (batch size = batch_tokens // window). 0 = auto: one window per pass on the CPU,
    where the model is compute-bound and batching only adds padding (docs/benchmarks.md), 8 windows on a GPU."""

    def __post_init__(self) -> None:
        check(self.window >= 2, "window", f"must be >= 2, got {self.window}")
        check(0 < self.stride <= self.window - 1, "stride", f"must be in [1, window - 1], got {self.stride}")
        check(self.batch_tokens == 0 or self.batch_tokens >= self.window, "batch_tokens",
              f"must be 0 (auto) or >= window, got {self.batch_tokens}")


@dataclass
class Score:
    nll_bits: float
    """Summed negative log-likelihood of the scored tokens, in bits."""
    n_bytes: int
    """UTF-8 bytes of the scored text."""
    n_tokens: int
    """Tokens of the scored text (excluding the prepended BOS)."""
    doc_bits: list[float] = field(default_factory=list)
    """Negative log-likelihood of each text, in bits, in input order (sums to nll_bits)."""
    doc_tokens: list[int] = field(default_factory=list)
    """Tokens of each text, in input order."""

    @property
    def bpb(self) -> float:
        return self.nll_bits / max(self.n_bytes, 1)

    def as_dict(self) -> dict[str, float]:
        return {"bpb": round(self.bpb, 5), "tokens": self.n_tokens, "bytes": self.n_bytes,
                "tokens_per_byte": round(self.n_tokens / max(self.n_bytes, 1), 5)}


def windows(ids: list[int], window: int, stride: int) -> list[tuple[list[int], int]]:
    """(input ids, number of trailing positions to score) per window; every id after the first scored once.

    Example: ids of length 10, window 4, stride 3 -> [(ids[0:4], 3), (ids[3:7], 3), (ids[6:10], 3)].
    """
    out, scored_until = [], 1
    start = 0
    while scored_until < len(ids):
        end = min(start + window, len(ids))
        out.append((ids[start:end], end - scored_until))
        scored_until = end
        start = end - (window - stride) if end - (window - stride) > start else end - 1
    return out


def bos_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The token that starts every scored document: BOS, else EOS (documents follow a document end)."""
    for token_id in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if token_id is not None:
            return token_id
    raise InputError("the tokenizer has neither a BOS nor an EOS token to start documents with")


@torch.no_grad()
def score_texts(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str],
                cfg: ScoreConfig | None = None, desc: str = "score") -> Score:
    """Bits-per-byte Score of `model` with `tokenizer` over `texts` (each scored as its own document)."""
    cfg = cfg or ScoreConfig()
    start = bos_id(tokenizer)
    docs = [[start, *tokenizer(t, add_special_tokens=False)["input_ids"]] for t in texts]
    # (ids, n_scored, text index), shortest first so that batches pad little
    wins = sorted(((*w, i) for i, ids in enumerate(docs) for w in windows(ids, cfg.window, cfg.stride)),
                  key=lambda w: len(w[0]))
    per_batch = max(1, cfg.batch_tokens // cfg.window) if cfg.batch_tokens else (
        1 if model.device.type == "cpu" else 8)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else start
    nats = torch.zeros(len(docs), dtype=torch.float64)
    model.eval()
    for i in tqdm(range(0, len(wins), per_batch), desc=desc, unit="batch", disable=None):
        batch = wins[i:i + per_batch]
        width = max(len(ids) for ids, _, _ in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (ids, n_scored, _) in enumerate(batch):
            input_ids[row, :len(ids)] = torch.tensor(ids)
            mask[row, :len(ids)] = 1
            labels[row, len(ids) - n_scored:len(ids)] = torch.tensor(ids[len(ids) - n_scored:])
        device = model.device
        logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
        losses = F.cross_entropy(logits[:, :-1].transpose(1, 2).float(), labels[:, 1:].to(device),
                                 ignore_index=-100, reduction="none").sum(dim=1)
        nats.index_add_(0, torch.tensor([i for _, _, i in batch]), losses.double().cpu())
    bits = (nats / math.log(2)).tolist()
    return Score(nll_bits=sum(bits), n_bytes=sum(len(t.encode("utf-8")) for t in texts),
                 n_tokens=sum(len(d) - 1 for d in docs), doc_bits=bits, doc_tokens=[len(d) - 1 for d in docs])
