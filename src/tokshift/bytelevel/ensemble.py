"""Models with different tokenizers combined byte by byte: a mixture or a product of their next-byte distributions.

Bytes are the one alphabet every tokenizer of a text shares. Given each model's normalised next-byte
distribution at every byte (score.byte_logprobs with keep=True: 256 bytes and the end of text), an ensemble is
a per-byte combination that is again a distribution: the mixture w * p_a + (1 - w) * p_b, or the product of
experts p_a^w * p_b^(1 - w) renormalised over the 257 outcomes. Leaves out: weights that change along the text.
"""

from __future__ import annotations

import math

import torch

from tokshift.core.errors import InputError

COMBINATIONS = ("mixture", "product")


def combine(a: list[torch.Tensor], b: list[torch.Tensor], data: bytes, weight: float,
            how: str = "mixture") -> list[float]:
    """Per-byte natural-log probabilities of `data` under the combination of two models' [257] log-distributions."""
    if len(a) != len(b) or len(a) != len(data):
        raise InputError(f"the two models scored different byte counts ({len(a)}, {len(b)}; the text has "
                         f"{len(data)}): they do not spell the text's bytes the same way")
    if not 0.0 <= weight <= 1.0:
        raise InputError(f"the ensemble weight must be in [0, 1], got {weight}")
    if how not in COMBINATIONS:
        raise InputError(f"unknown combination '{how}'; use one of {', '.join(COMBINATIONS)}")
    la, lb, index = torch.stack(a).double(), torch.stack(b).double(), torch.tensor(list(data))[:, None]
    if weight in (0.0, 1.0):  # one model alone (0 * -inf would be nan for bytes the other cannot spell)
        mixed = la if weight == 1.0 else lb
    elif how == "product":
        mixed = weight * la + (1 - weight) * lb
        mixed = mixed - torch.logsumexp(mixed, dim=1, keepdim=True)
    else:
        mixed = torch.logaddexp(la + math.log(weight), lb + math.log(1 - weight))
    return mixed.gather(1, index)[:, 0].tolist()


def bits_per_byte(logprobs: list[float]) -> float:
    """Bits per byte of per-byte natural-log probabilities."""
    return -sum(logprobs) / math.log(2) / max(len(logprobs), 1)
