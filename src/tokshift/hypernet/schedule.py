"""The learning-rate schedule: linear warmup, then cosine decay to 0, once per phase of training.

With a compositional warm-up (`compose_steps`) the base-model objective starts a warmup + cosine of its own
afterwards, so it runs the same schedule shape with or without a warm-up before it. A single phase is
transformers' `get_cosine_schedule_with_warmup`, step for step.
"""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR


def phase_factor(step: int, warmup: int, phases: list[int]) -> float:
    """The learning-rate factor at `step` when training runs `phases` (steps each) one after the other."""
    start = 0
    for i, length in enumerate(phases):
        if step < start + length or i == len(phases) - 1:  # the last phase runs on past its end (factor 0)
            break
        start += length
    local = step - start
    if local < warmup:
        return float(local) / float(max(1, warmup))
    progress = float(local - warmup) / float(max(1, length - warmup))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


def phased_cosine(opt: torch.optim.Optimizer, warmup: int, phases: list[int]) -> LambdaLR:
    """A scheduler stepping through `phases` (empty phases dropped), warmup + cosine within each."""
    phases = [p for p in phases if p > 0] or [1]
    return LambdaLR(opt, lambda step: phase_factor(step, warmup, phases))
