"""Adapting an encoder (masked LM): the masking of a training batch and the valid score.

- mask_tokens: 15% of the non-special tokens of a batch become the mask token (at least one), the
  labels of the others -100; drawn from a generator seeded per step and process, so a resumed run
  masks exactly as the uninterrupted one.
- pseudo_bits: pseudo-log-likelihood (each token scored with it alone masked and the rest of its
  window visible, the usual way to score a masked LM), summed in bits, with the texts' UTF-8 bytes.
  Bits per byte from it compare encoders on different tokenizers; they are not a probability and
  never compare with a causal model's bits per byte.
Leaves out: whole-word masking, the 80/10/10 replacement split.
"""

from __future__ import annotations

import math

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tokshift.model.score import bos_id


def start_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The token a sequence starts with: CLS for BERT-style tokenizers, else BOS/EOS."""
    return tokenizer.cls_token_id if tokenizer.cls_token_id is not None else bos_id(tokenizer)


def mask_tokens(ids: torch.Tensor, mask_id: int, special_ids: list[int], generator: torch.Generator,
                prob: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    """(input ids with the picked tokens masked, labels: the picked tokens' ids, -100 elsewhere)."""
    normal = ~torch.isin(ids, torch.tensor(special_ids, dtype=ids.dtype, device=ids.device))
    pick = (torch.rand(ids.shape, generator=generator) < prob).to(ids.device) & normal
    if not pick.any():  # at least one label, so the loss is defined
        pick.view(-1)[int(normal.view(-1).float().argmax())] = True
    return ids.masked_fill(pick, mask_id), ids.masked_fill(~pick, -100)


@torch.no_grad()
def pseudo_bits(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], window: int = 126,
                batch: int = 64) -> tuple[float, int]:
    """(pseudo-log-likelihood of `texts` in bits, their UTF-8 bytes); windows of `window` tokens."""
    model.eval()
    head = [start_id(tokenizer)]
    tail = [tokenizer.sep_token_id] if tokenizer.sep_token_id is not None else []
    bits, n_bytes = 0.0, 0
    for text in texts:
        n_bytes += len(text.encode("utf-8"))
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        for start in range(0, len(ids), window):
            row = torch.tensor(head + ids[start:start + window] + tail, device=model.device)
            positions = torch.arange(len(head), len(row) - len(tail), device=model.device)
            for chunk in positions.split(batch):
                copies = row.repeat(len(chunk), 1)
                copies[torch.arange(len(chunk)), chunk] = tokenizer.mask_token_id
                logits = model(input_ids=copies).logits[torch.arange(len(chunk)), chunk].float()
                bits -= torch.log_softmax(logits, -1).gather(1, row[chunk, None]).sum().item() / math.log(2)
    return bits, n_bytes
