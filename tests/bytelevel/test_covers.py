"""Byte-level probabilities against brute force: every covering token sequence, scored by the model itself."""

import math

import pytest
import torch

from tokshift.bytelevel.bpe import byte_alphabet
from tokshift.bytelevel.context import Context
from tokshift.bytelevel.covers import next_byte, prefix_logprobs
from tokshift.bytelevel.score import ByteScoreConfig, byte_logprobs, document_logprob

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


@pytest.mark.parametrize("fixture", ["plain", "regex"])
@pytest.mark.parametrize("text", ["", "th", "the ca", "tea at the"])
def test_next_byte_masses_sum_to_the_prefix_probability(request, fixture, text):
    _, bpe, model = request.getfixturevalue(fixture)
    step = next_byte(Context(model, START), bpe, text.encode())
    total = step.byte_logp.exp().sum().item() + math.exp(step.end_logp) + math.exp(step.off_logp)
    assert total == pytest.approx(math.exp(step.prefix_logp), rel=1e-4)
    assert step.distribution().sum().item() == pytest.approx(1.0, abs=1e-6)
    assert (step.distribution() >= 0).all()


def test_next_byte_probability_matches_the_ratio_of_prefix_probabilities(plain):
    _, bpe, model = plain
    ctx = Context(model, START)
    step = next_byte(ctx, bpe, b"th")
    whole = prefix_logprobs(ctx, bpe, b"the", [2, 3])
    assert step.prefix_logp == pytest.approx(whole[0], abs=1e-5)
    assert step.byte_logp[ord("e")].item() == pytest.approx(whole[1], abs=1e-4)


@pytest.mark.parametrize("fixture", ["plain", "regex"])
@pytest.mark.parametrize("cfg", [ByteScoreConfig(), ByteScoreConfig(window=8, stride=4, max_tokens=3)])
def test_bytes_one_by_one_multiply_to_the_whole_text(request, fixture, cfg):
    _, bpe, model = request.getfixturevalue(fixture)
    text = "the cat sat on the mat, that hat ate the data at three"
    per_byte, _ = byte_logprobs(model, bpe, START, text, cfg)
    whole, token, _ = document_logprob(model, bpe, START, text, cfg)
    assert len(per_byte) == len(text.encode())
    assert max(per_byte) <= 1e-6  # each is a (log) probability
    assert sum(per_byte) == pytest.approx(whole, abs=1e-3)
    assert whole >= token - 1e-4


def test_the_context_window_restarts_like_the_token_level_scorer(regex):
    tok, bpe, model = regex
    text = " ".join(["the cat sat on the mat"] * 6)
    short, long_ = ByteScoreConfig(window=8, stride=4), ByteScoreConfig(window=512, stride=384)
    assert document_logprob(model, bpe, START, text, short)[0] != pytest.approx(
        document_logprob(model, bpe, START, text, long_)[0], abs=1e-3)
    _, token, _ = document_logprob(model, bpe, START, text, long_)
    assert token == pytest.approx(sequence_logprob(model, tok.encode(text).ids), abs=1e-3)
