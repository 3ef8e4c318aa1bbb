"""Prompts that end inside a token: token-level greedy drifts, byte-level greedy continues the text."""

import pytest
import torch
from transformers import PreTrainedTokenizerFast

from tests.bytelevel.tiny import tiny_model, tiny_tokenizer
from tokshift.bytelevel.bpe import ByteBPE
from tokshift.bytelevel.generate import complete_prefix, generate_bytes, generate_tokens, open_pretoken
from tokshift.core.errors import InputError

SENTENCE = "the cat sat on the mat. "


@pytest.fixture(scope="module")
def trained():
    """A tiny Llama trained on one repeated sentence until it recites it from its canonical tokens."""
    tok = tiny_tokenizer(use_regex=True)
    model = tiny_model(tok.get_vocab_size(), seed=1)
    with torch.no_grad():
        model.lm_head.weight.div_(40)
    ids = torch.tensor([[0, *tok.encode(SENTENCE * 8).ids]])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    torch.manual_seed(0)
    model.train()
    for _ in range(150):
        loss = model(input_ids=ids, labels=ids).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")
    return tok, ByteBPE(tok), model, fast


def test_the_trained_model_recites_from_a_token_boundary(trained):
    _, _, model, fast = trained
    assert generate_tokens(model, fast, 0, "the cat sat on the", max_new_tokens=4).startswith(" mat.")


def test_a_prompt_ending_inside_a_token_derails_tokens_but_not_bytes(trained):
    tok, bpe, model, fast = trained
    prompt = "the cat sat on the m"  # " m" is its own token here, never followed by "at" in training
    assert tok.encode(" mat").ids != tok.encode(" m").ids + tok.encode("at").ids
    by_token = generate_tokens(model, fast, 0, prompt, max_new_tokens=4)
    by_byte = generate_bytes(model, bpe, 0, prompt, max_new_bytes=6).text
    assert by_byte == "at. th"
    assert not by_token.startswith("at.")


def test_a_prompt_ending_in_a_space(trained):
    _, bpe, model, _ = trained
    assert generate_bytes(model, bpe, 0, "the cat sat ", max_new_bytes=6).text == "on the"


def test_an_empty_prompt_is_refused(trained):
    _, bpe, model, fast = trained
    with pytest.raises(InputError, match="prompt is empty"):
        generate_bytes(model, bpe, 0, "")
    with pytest.raises(InputError, match="prompt is empty"):
        generate_tokens(model, fast, 0, "")


def test_sampling_is_seeded(trained):
    _, bpe, model, _ = trained
    runs = [generate_bytes(model, bpe, 0, "the c", max_new_bytes=8, temperature=1.5, seed=s).text for s in (3, 3)]
    assert runs[0] == runs[1]


def test_an_unfinished_character_stays_in_the_open_pretoken():
    bpe = ByteBPE(tiny_tokenizer(use_regex=True))
    data = "ab \u00e9".encode()[:-1]  # ends inside the two bytes of é
    assert complete_prefix(data) == 3
    assert open_pretoken(bpe, data) == ([0], 2)
