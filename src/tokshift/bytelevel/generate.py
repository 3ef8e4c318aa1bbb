"""Generation one byte at a time: prompts may end anywhere, inside a token or a character.

A token-level model continues a prompt from the prompt's own tokenization; when the prompt ends inside what
would have been one token (" m" of " mat", a space before a word), the model is asked about a token sequence
it never saw in training and drifts. Byte by byte there is no such boundary: each step takes the next-byte
distribution (covers.py) after the whole text so far, whose last pretoken is still open, and picks a byte
(greedy, or sampled with a temperature); the end of text (a special token) when it wins stops it.
`generate_tokens` is the token-level baseline on the same model. Leaves out: beam search.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tokshift.bytelevel.bpe import ByteBPE
from tokshift.bytelevel.context import Context
from tokshift.bytelevel.covers import next_byte
from tokshift.core.errors import InputError


@dataclass
class ByteGeneration:
    text: str
    """The continuation (bytes decoded as UTF-8, broken characters replaced)."""
    data: bytes
    """The continuation's bytes."""
    stopped: bool
    """True when an end-of-text token won, False when max_new_bytes ran out."""


def complete_prefix(data: bytes) -> int:
    """Length of the longest prefix of `data` that ends on a whole UTF-8 character."""
    for cut in range(len(data), max(-1, len(data) - 4), -1):
        try:
            data[:cut].decode("utf-8")
            return cut
        except UnicodeDecodeError:
            continue
    raise InputError("the text is not UTF-8")


def open_pretoken(bpe: ByteBPE, data: bytes) -> tuple[list[int], int]:
    """(pretoken starts before the last one, start of the last, still open pretoken) of `data`; bytes of a
    character not yet complete belong to the open pretoken."""
    starts = bpe.pretoken_starts(data[:complete_prefix(data)].decode("utf-8"))
    return starts[:-1], starts[-1]


def check_prompt(prompt: str) -> None:
    if not prompt:
        raise InputError("the prompt is empty; give the text to continue")


def generate_bytes(model: PreTrainedModel, bpe: ByteBPE, start: int, prompt: str, max_new_bytes: int = 64,
                   temperature: float = 0.0, seed: int = 0) -> ByteGeneration:
    """Continue `prompt` byte by byte (greedy at temperature 0)."""
    check_prompt(prompt)
    gen = torch.Generator().manual_seed(seed)
    data = prompt.encode("utf-8")
    ctx, read = Context(model, start), 0  # read: bytes of whole pretokens held by ctx
    stopped = False
    for _ in range(max_new_bytes):
        starts, last = open_pretoken(bpe, data)
        if last < read:  # the pre-tokenizer regrouped text already read: start over
            ctx, read = Context(model, start), 0
        bounds = [*starts, last]
        for s, e in itertools.pairwise(bounds):
            if s >= read:
                ctx.extend(list(bpe.encode(data[s:e])))
                read = e
        scores = next_byte(ctx, bpe, data, last)
        if temperature > 0:
            pick = int(torch.multinomial(torch.softmax(scores / temperature, 0), 1, generator=gen))
        else:
            pick = int(torch.argmax(scores))
        if pick == 256:
            stopped = True
            break
        data += bytes([pick])
    new = data[len(prompt.encode("utf-8")):]
    return ByteGeneration(text=new.decode("utf-8", errors="replace"), data=new, stopped=stopped)


@torch.no_grad()
def generate_tokens(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, start: int, prompt: str,
                    max_new_tokens: int = 16) -> str:
    """The token-level greedy continuation of `prompt` (tokenized as the tokenizer does), as text."""
    check_prompt(prompt)
    ids = torch.tensor([[start, *tokenizer(prompt, add_special_tokens=False)["input_ids"]]], device=model.device)
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens, do_sample=False,
                         pad_token_id=start)
    return tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
