"""A vocabulary-only language model: a tokenizer's token frequencies as a causal LM that ignores its context.

The control for byte-level ensembles: combining a model with a second one can gain because the second
knows the text, or merely because its tokenizer's vocabulary says which byte strings are frequent words
(byte-level scoring sums only canonical covers, so the vocabulary shapes the byte distribution even
without any context). This model has only the second part: p(token) from add-one smoothed counts of the
tokenizer's tokens on train text, the same at every position. It is a stock LlamaForCausalLM, so the
byte-level scorer reads it like any model: one layer whose attention and MLP write nothing, every token
embedded as the same unit vector, the final norm scaled so the head reads that vector, and an untied head
whose first column holds log p(token). Leaves out: n-gram context (it is deliberately a unigram).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import LlamaConfig, LlamaForCausalLM

from tokshift.stats.tokens import encode_ids

WIDTH = 8


def token_counts(tokenizer: Tokenizer, texts: list[str]) -> torch.Tensor:
    """How often each id of the tokenizer occurs in its encodings of `texts` (no special tokens added)."""
    ids, _ = encode_ids(tokenizer, texts, batch_size=1024)
    return torch.from_numpy(np.bincount(ids, minlength=tokenizer.get_vocab_size(with_added_tokens=True))).double()


@torch.no_grad()
def vocabulary_model(tokenizer: Tokenizer, texts: list[str]) -> LlamaForCausalLM:
    """A context-free causal LM with p(token) = (count + 1) / (total + vocabulary) on `texts`."""
    counts = token_counts(tokenizer, texts) + 1.0
    logp = (counts / counts.sum()).log()
    config = LlamaConfig(vocab_size=len(counts), hidden_size=WIDTH, intermediate_size=WIDTH, num_hidden_layers=1,
                         num_attention_heads=1, num_key_value_heads=1, tie_word_embeddings=False,
                         max_position_embeddings=1 << 20)
    model = LlamaForCausalLM(config)
    for param in model.parameters():
        param.zero_()
    model.model.embed_tokens.weight[:, 0] = 1.0  # every token is e_0; attention and MLP outputs stay 0
    model.model.norm.weight[0] = 1.0 / math.sqrt(WIDTH)  # RMS norm of e_0 is sqrt(WIDTH) * e_0: back to e_0
    model.lm_head.weight[:, 0] = logp.float()
    return model.eval()
