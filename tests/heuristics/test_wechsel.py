"""WECHSEL embeddings: nearest source tokens mixed by a softmax over similarity; shared tokens copied."""

import pytest
import torch

from tokshift.core.errors import InputError
from tokshift.heuristics.wechsel import mix, neighbours, wechsel_matrix


def spaces(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    source = torch.randn(50, 8, generator=gen)
    base = torch.randn(50, 4, generator=gen)
    return source, base


def test_a_target_token_on_a_source_token_takes_its_embedding_at_low_temperature():
    source, base = spaces()
    target = source[[3, 7, 11]] * 2.0  # same directions, other lengths: cosine 1
    out = wechsel_matrix(target, source, base, k=5, temperature=0.001)
    assert torch.allclose(out, base[[3, 7, 11]], atol=1e-5)


def test_the_mix_is_a_convex_combination_of_the_k_nearest():
    source, base = spaces(1)
    target = torch.randn(6, 8, generator=torch.Generator().manual_seed(2))
    out = wechsel_matrix(target, source, base, k=3, temperature=0.1)
    sims = torch.nn.functional.normalize(target, dim=1) @ torch.nn.functional.normalize(source, dim=1).T
    top, idx = sims.topk(3, dim=1)
    expected = torch.einsum("bk,bkh->bh", torch.softmax(top / 0.1, dim=1), base[idx])
    assert torch.allclose(out, expected, atol=1e-6)
    flat = wechsel_matrix(target, source, base, k=50, temperature=1e6)  # infinite temperature: the plain mean
    assert torch.allclose(flat, base.mean(0).expand(6, -1), atol=1e-4)


def test_tokens_both_vocabularies_have_are_copied():
    source, base = spaces()
    out = wechsel_matrix(torch.randn(4, 8), source, base, copies={2: 9})
    assert torch.equal(out[2], base[9])


@pytest.mark.parametrize("kwargs, message", [({"k": 0}, "k must be"), ({"temperature": 0.0}, "temperature > 0")])
def test_bad_settings_are_refused(kwargs, message):
    source, base = spaces()
    with pytest.raises(InputError, match=message):
        wechsel_matrix(torch.randn(2, 8), source, base, **kwargs)


def test_mismatched_spaces_are_refused():
    source, base = spaces()
    with pytest.raises(InputError, match="must live in one space"):
        wechsel_matrix(torch.randn(2, 5), source, base)
    with pytest.raises(InputError, match="49 source vectors for 50 embedding rows"):
        wechsel_matrix(torch.randn(2, 8), source[1:], base)


def test_no_tokens_to_mix_gives_an_empty_mix():
    source, base = spaces()
    nearest, weights = neighbours(torch.empty(0, 8), source, k=3)
    assert nearest.shape == weights.shape == (0, 3) and mix(nearest, weights, base).shape == (0, 4)
