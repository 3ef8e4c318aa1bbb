"""Hidden states of a model reading text in a large vocabulary: the queries its output index answers.

Leaves out: the index (index.py) and what is measured with the states (evaluate.py).
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import PreTrainedModel

from tokshift.data.corpus import head_texts, split_texts
from tokshift.large_vocab.vocabulary import LargeVocab


@torch.no_grad()
def hidden_states(model: PreTrainedModel, vocab: LargeVocab, texts: list[str], start_id: int,
                  window: int = 512) -> tuple[list[torch.Tensor], list[list[int]]]:
    """Per text, the final hidden states [T, d] over [start, large-vocabulary ids] and those ids (first window)."""
    states, all_ids = [], []
    for text in texts:
        ids = [start_id, *vocab.encode(text)][:window]
        out = model.base_model(inputs_embeds=vocab.input_rows(model, ids)[None])
        states.append(out.last_hidden_state[0].float().cpu())
        all_ids.append(ids)
    return states, all_ids


def query_states(model: PreTrainedModel, vocab: LargeVocab, texts: list[str], start_id: int) -> torch.Tensor:
    """[n, d] hidden states that predict a next token (every position but each text's last), as in generation."""
    states, _ = hidden_states(model, vocab, texts, start_id, window=2048)
    return torch.cat([s[:-1] for s in states])


def split_query_states(model: PreTrainedModel, vocab: LargeVocab, corpus: str | Path, split: str, langs: list[str],
                       max_bytes: int, start_id: int, field: str) -> torch.Tensor:
    """query_states on each language's first documents of a corpus split (cut to 1,000 bytes, max_bytes each)."""
    texts = [t for lang in langs for t in head_texts(split_texts(corpus, split, lang, field), max_bytes)]
    return query_states(model, vocab, texts, start_id)
