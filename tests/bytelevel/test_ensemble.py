"""Byte-level ensembles: combinations are distributions again, and a model combined with itself is itself."""

import math

import pytest
import torch

from tokshift.bytelevel.ensemble import bits_per_byte, combine
from tokshift.core.errors import InputError


def random_distributions(n: int, seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return list(torch.log_softmax(3 * torch.randn(n, 257, generator=gen), dim=1))


@pytest.mark.parametrize("how", ["mixture", "product"])
def test_a_model_combined_with_itself_is_itself(how):
    a, data = random_distributions(6, 0), b"abcdef"
    assert combine(a, a, data, 0.3, how) == pytest.approx(combine(a, a, data, 1.0, how), abs=1e-5)


def test_the_mixture_is_the_average_of_the_probabilities():
    a, b, data = random_distributions(4, 1), random_distributions(4, 2), b"wxyz"
    mixed = combine(a, b, data, 0.25)
    for n, byte in enumerate(data):
        assert math.exp(mixed[n]) == pytest.approx(0.25 * a[n][byte].exp() + 0.75 * b[n][byte].exp())


def test_the_product_is_renormalised_over_bytes_and_end():
    a, b = random_distributions(3, 3), random_distributions(3, 4)
    total = sum(math.exp(combine(a, b, bytes([v]) * 3, 0.5, "product")[0]) for v in range(256))
    end = torch.logsumexp(0.5 * a[0] + 0.5 * b[0], 0)
    assert total + math.exp((0.5 * a[0][256] + 0.5 * b[0][256] - end).item()) == pytest.approx(1.0)


def test_endpoints_are_each_model_alone_even_where_the_other_cannot_spell_a_byte():
    a, b, data = random_distributions(2, 5), random_distributions(2, 6), b"ab"
    a[0][ord("a")] = -math.inf
    assert combine(a, b, data, 0.0, "product") == pytest.approx([b[0][97].item(), b[1][98].item()])
    assert math.isinf(combine(a, b, data, 1.0, "product")[0])
    assert math.isfinite(combine(a, b, data, 0.5, "mixture")[0])


def test_bits_per_byte():
    assert bits_per_byte([math.log(0.5)] * 4) == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs, message", [({"weight": 1.5}, "weight must be in"),
                                             ({"how": "max"}, "unknown combination")])
def test_bad_combinations_are_refused(kwargs, message):
    a = random_distributions(2, 7)
    with pytest.raises(InputError, match=message):
        combine(a, a, b"ab", **{"weight": 0.5, **kwargs})


def test_different_byte_counts_are_refused():
    with pytest.raises(InputError, match="different byte counts"):
        combine(random_distributions(2, 8), random_distributions(3, 9), b"ab", 0.5)
