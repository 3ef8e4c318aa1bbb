"""Hidden states over the large vocabulary are the model's own, and queries are every position but the last."""

from __future__ import annotations

import torch

from tokshift.large_vocab.states import hidden_states, query_states
from tokshift.large_vocab.vocabulary import LargeVocab


def test_states_are_the_models_and_queries_drop_each_last_position(tiny, base):
    model, _, _ = tiny
    vocab = LargeVocab(base, [], torch.empty(0, model.config.hidden_size))
    texts = ["ein kurzer Text", "noch einer, etwas länger als der erste"]
    states, ids = hidden_states(model, vocab, texts, start_id=0)
    assert ids[0] == [0, *base.encode(texts[0], add_special_tokens=False).ids]
    with torch.no_grad():
        own = model.base_model(input_ids=torch.tensor([ids[1]])).last_hidden_state[0]
    torch.testing.assert_close(states[1], own, atol=1e-5, rtol=1e-4)
    assert query_states(model, vocab, texts, start_id=0).shape[0] == sum(len(i) - 1 for i in ids)
