"""Byte-level probabilities against brute force: every covering token sequence, scored by the model itself."""

import itertools
import math

import pytest
import torch

from tokshift.bytelevel.bpe import byte_alphabet
from tokshift.bytelevel.context import Context
from tokshift.bytelevel.covers import next_byte, prefix_logprobs, structure_masses, structure_rows
from tokshift.bytelevel.generate import open_pretoken
from tokshift.bytelevel.score import ByteScoreConfig, byte_logprobs, document_logprob
from tokshift.bytelevel.structures import Structure

START = 0  # <|endoftext|> starts every document


@torch.no_grad()
def sequence_logprob(model, ids: list[int]) -> float:
    logp = torch.log_softmax(model(torch.tensor([[START, *ids]])).logits[0].float(), -1)
    return sum(logp[k, t].item() for k, t in enumerate(ids))


def brute_force(tok, bpe, model, data: bytes) -> float:
    """Sum of P(t) over every token sequence t that covers `data` and that the tokenizer itself produces
    (the library's BPE on the sequence's bytes gives t back)."""
    chars = {b: c for c, b in byte_alphabet().items()}
    tokens = [t for t in range(bpe.size) if bpe.bytes[t] is not None]
    total = 0.0

    def canonical(seq):
        return [x.id for x in tok.model.tokenize("".join(chars[b] for t in seq for b in bpe.bytes[t]))] == seq

    def extend(seq, pos):
        nonlocal total
        for t in tokens:
            b = bpe.bytes[t]
            if pos + len(b) >= len(data):
                if b.startswith(data[pos:]) and canonical(seq + [t]):
                    total += math.exp(sequence_logprob(model, seq + [t]))
            elif data[pos:pos + len(b)] == b:
                extend(seq + [t], pos + len(b))

    extend([], 0)
    return total


@pytest.mark.parametrize("text", ["the", "at th", "hat", "\u00e9t"])
def test_prefix_probability_equals_the_brute_force_sum_over_covers(plain, text):
    tok, bpe, model = plain
    ctx = Context(model, START)
    ours = math.exp(prefix_logprobs(ctx, bpe, text.encode(), [len(text.encode())])[0])
    assert ours == pytest.approx(brute_force(tok, bpe, model, text.encode()), rel=1e-4)


@pytest.mark.parametrize("text", ["the", "at th", "tea"])
def test_byte_level_probability_is_at_least_the_canonical_tokenizations(plain, text):
    tok, bpe, model = plain
    byte, token, _ = document_logprob(model, bpe, START, text, ByteScoreConfig())
    assert token == pytest.approx(sequence_logprob(model, tok.encode(text).ids), abs=1e-4)
    assert byte >= token
    assert byte > token + 0.1  # other covers carry real mass for a random model


def context_before(model, bpe, data: bytes) -> tuple[Context, int]:
    """A context holding the canonical tokens before the open pretoken of `data`, and where that starts."""
    starts, last = open_pretoken(bpe, data)
    ctx = Context(model, START)
    ids = [i for s, e in itertools.pairwise([*starts, last]) for i in bpe.encode(data[s:e])]
    if ids:
        ctx.extend(ids)
    return ctx, last


@pytest.mark.parametrize("fixture", ["plain", "regex"])
@pytest.mark.parametrize("text", ["", "th", "the ca", "tea at the"])
def test_next_byte_masses_add_up_to_the_prefix_probability(request, fixture, text):
    _, bpe, model = request.getfixturevalue(fixture)
    data = text.encode()
    ctx, last = context_before(model, bpe, data)
    structure = Structure(last, (), data[last:], "all")
    splits, rows = structure_rows(bpe, structure)
    mass, off = structure_masses(bpe, structure, splits, *ctx.branch(rows))
    prefix = math.exp(prefix_logprobs(ctx, bpe, data[last:], [len(data) - last])[0]) if len(data) > last else 1.0
    assert mass.sum().item() + off == pytest.approx(prefix, rel=1e-4)


@pytest.mark.parametrize("fixture", ["plain", "regex"])
def test_the_scoring_pass_gives_the_step_by_step_distributions(request, fixture):
    _, bpe, model = request.getfixturevalue(fixture)
    text = "the cat  sat\n\non the mat,\n that hat"
    data = text.encode()
    per_byte, full, _ = byte_logprobs(model, bpe, START, text, ByteScoreConfig(max_tokens=7), keep=True)
    assert len(per_byte) == len(full) == len(data)
    for n in range(len(data)):
        ctx, last = context_before(model, bpe, data[:n])
        step = next_byte(ctx, bpe, data[:n], last)
        assert step.exp().sum().item() == pytest.approx(1.0, abs=1e-5)
        assert torch.allclose(step, full[n], atol=1e-4), n
        assert per_byte[n] == pytest.approx(full[n][data[n]].item())


def test_a_small_window_restarts_the_context(regex):
    _, bpe, model = regex
    text = " ".join(["the cat sat on the mat"] * 4)
    short, _, _ = byte_logprobs(model, bpe, START, text, ByteScoreConfig(window=8, stride=4, max_tokens=3))
    long_, _, _ = byte_logprobs(model, bpe, START, text, ByteScoreConfig())
    assert len(short) == len(long_) and sum(short) != pytest.approx(sum(long_), abs=1e-3)
    assert max(short) <= 1e-6


def test_whole_text_byte_level_is_at_or_below_token_level_in_the_same_run(regex):
    _, bpe, model = regex
    text = " ".join(["the cat sat on the mat"] * 6)
    for cfg in (ByteScoreConfig(), ByteScoreConfig(window=8, stride=4)):
        byte, token, _ = document_logprob(model, bpe, START, text, cfg)
        assert byte >= token - 1e-6


def test_the_context_window_matches_the_token_level_scorer(regex):
    tok, bpe, model = regex
    text = " ".join(["the cat sat on the mat"] * 6)
    _, token, _ = document_logprob(model, bpe, START, text, ByteScoreConfig())
    assert token == pytest.approx(sequence_logprob(model, tok.encode(text).ids), abs=1e-3)


@pytest.mark.parametrize("fixture", ["plain", "regex"])
def test_distributions_before_a_byte_do_not_depend_on_what_follows_it(request, fixture):
    _, bpe, model = request.getfixturevalue(fixture)
    head = "the cat sat on the "
    _, one, _ = byte_logprobs(model, bpe, START, head + "mat  that hat", ByteScoreConfig(max_tokens=9), keep=True)
    _, two, _ = byte_logprobs(model, bpe, START, head + "bat\n\nate tea", ByteScoreConfig(max_tokens=9), keep=True)
    for n in range(len(head) + 1):  # up to the distribution of the first byte that differs
        assert torch.allclose(one[n], two[n], atol=1e-4), n
