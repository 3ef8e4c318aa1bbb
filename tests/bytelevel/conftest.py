"""Fixtures: tiny tokenizers (no pre-tokenization, GPT-2's regex) with a tiny random Llama each."""

import pytest

from tests.bytelevel.tiny import tiny_model, tiny_tokenizer
from tokshift.bytelevel.bpe import ByteBPE


@pytest.fixture(scope="module")
def plain():
    """(tokenizer, ByteBPE, model) with no pre-tokenization: the whole text is one pretoken."""
    tok = tiny_tokenizer(use_regex=False)
    return tok, ByteBPE(tok, "plain"), tiny_model(tok.get_vocab_size())


@pytest.fixture(scope="module")
def regex():
    """(tokenizer, ByteBPE, model) with GPT-2's pre-tokenizer regex."""
    tok = tiny_tokenizer(use_regex=True)
    return tok, ByteBPE(tok, "regex"), tiny_model(tok.get_vocab_size())
