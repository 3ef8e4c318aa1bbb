"""FOCUS copies the overlap and fills the rest; without text it is a clear error."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer

from tokshift.model.base import load_model
from tokshift.transfers.methods import transfer

pytestmark = pytest.mark.slow  # trains fastText


def test_focus_copies_overlap_and_fills_the_rest(tiny_models, tokenizers_dir, corpus_file, tmp_path):
    from tokshift.data.corpus import read_corpus

    texts = read_corpus(corpus_file, split="train", lang="ja").column("text").to_pylist()
    metrics = transfer(tiny_models["llama-tied"], tokenizers_dir / "ja-unigram-400", "focus", tmp_path / "f",
                       train_texts=texts)
    model, base = load_model(str(tiny_models["llama-tied"]))
    base_emb = model.get_input_embeddings().weight.detach()
    new = load_file(str(tmp_path / "f" / "embeddings.safetensors"))["input"]
    target = AutoTokenizer.from_pretrained(tmp_path / "f")
    shared = [(tid, base.get_vocab()[tok]) for tok, tid in target.get_vocab().items() if tok in base.get_vocab()]
    assert len(shared) == metrics["exact_copies"] > 0
    for tid, bid in shared:
        assert torch.allclose(new[tid], base_emb[bid], atol=1e-6)
    assert torch.isfinite(new).all() and new.shape == (400, 32)


def test_focus_without_text_is_a_clear_error(tiny_models, tokenizers_dir, tmp_path):
    with pytest.raises(ValueError, match="focus needs training text"):
        transfer(tiny_models["llama-tied"], tokenizers_dir / "ja-unigram-400", "focus", tmp_path / "f")
