"""The vocabulary-only control model: p(token) from add-one counts, the same after any context, a stock model."""

from __future__ import annotations

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

from tests.helpers import make_text
from tokshift.bytelevel.vocabulary import token_counts, vocabulary_model


def test_it_predicts_the_smoothed_token_frequencies_whatever_came_before(tokenizers_dir, tmp_path):
    tok = Tokenizer.from_file(str(tokenizers_dir / "de-bpe-400" / "tokenizer.json"))
    texts = [make_text("de", 5, i) for i in range(10)]
    counts = token_counts(tok, texts)
    assert counts.sum() == sum(len(tok.encode(t, add_special_tokens=False).ids) for t in texts)
    expected = ((counts + 1) / (counts + 1).sum()).log().float()
    model = vocabulary_model(tok, texts)
    model.save_pretrained(tmp_path / "m")  # a stock model folder: it loads without custom code
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "m")
    for ids in ([[1, 2, 3, 4]], [[40, 7, 399, 12, 12, 5]]):
        logp = loaded(input_ids=torch.tensor(ids)).logits.log_softmax(-1)[0]
        assert torch.allclose(logp, expected.expand_as(logp), atol=1e-4)
