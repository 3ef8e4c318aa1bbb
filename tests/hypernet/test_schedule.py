"""The learning-rate schedule: warmup + cosine per phase; one phase is transformers' schedule."""

from __future__ import annotations

import pytest
import torch
from transformers import get_cosine_schedule_with_warmup

from tokshift.hypernet.schedule import phased_cosine


def rates(make, steps: int) -> list[float]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched, out = make(opt), []
    for _ in range(steps):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("phases", [[300], [0, 300]])
def test_one_phase_is_transformers_cosine_with_warmup(phases):
    ours = rates(lambda opt: phased_cosine(opt, 10, phases), 300)
    assert ours == rates(lambda opt: get_cosine_schedule_with_warmup(opt, 10, 300), 300)


def test_the_second_phase_restarts_warmup_and_cosine():
    both = rates(lambda opt: phased_cosine(opt, 10, [50, 300]), 350)
    assert both[:50] == rates(lambda opt: get_cosine_schedule_with_warmup(opt, 10, 50), 50)
    assert both[50:] == rates(lambda opt: get_cosine_schedule_with_warmup(opt, 10, 300), 300)
