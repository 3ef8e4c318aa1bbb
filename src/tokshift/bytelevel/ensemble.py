"""Models with different tokenizers combined byte by byte: a mixture of their next-byte probabilities.

Bytes are the one alphabet every tokenizer of a text shares, so once each model's log P(x_n | x_<n) is known
(score.byte_logprobs), an ensemble is a per-byte combination: the mixture w * p_a + (1 - w) * p_b is a proper
distribution again and its bits per byte are computed exactly. Leaves out: the product of experts, which needs
each model's whole next-byte distribution at every byte (covers.next_byte), not only the observed byte's.
"""

from __future__ import annotations

import math

from tokshift.core.errors import InputError


def mixture_logprobs(a: list[float], b: list[float], weight: float = 0.5) -> list[float]:
    """Per-byte natural-log probabilities of weight * P_a + (1 - weight) * P_b."""
    if len(a) != len(b):
        raise InputError(f"the two models scored different byte counts ({len(a)} and {len(b)}): they do not spell "
                         f"the text's bytes the same way")
    if not 0.0 <= weight <= 1.0:
        raise InputError(f"the mixture weight must be in [0, 1], got {weight}")
    out = []
    for x, y in zip(a, b, strict=True):
        top = max(x, y)
        out.append(top + math.log(weight * math.exp(x - top) + (1 - weight) * math.exp(y - top)))
    return out


def bits_per_byte(logprobs: list[float]) -> float:
    """Bits per byte of per-byte natural-log probabilities."""
    return -sum(logprobs) / math.log(2) / max(len(logprobs), 1)
