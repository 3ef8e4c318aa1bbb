"""Sentence embeddings: pooling ignores padding, is saved with the model, and is refused where it means nothing."""

import json

import pytest
import torch

from tokshift.model.base import load_model
from tokshift.model.pooling import PoolingError, embed_texts, pool, read_pooling, write_pooling

TEXTS = ["ein der die und sch ung ver ber ste gen", "auf", "mit ä ö ü ß zu ein der"]


def test_mean_pooling_ignores_padding_and_order(tiny_e5):
    model, tok = load_model(str(tiny_e5["folder"]))
    together = embed_texts(model, tok, TEXTS, "mean", "query: ", batch_size=3)
    alone = torch.cat([embed_texts(model, tok, [t], "mean", "query: ") for t in TEXTS])
    assert torch.allclose(together, alone, atol=1e-5)
    assert torch.allclose(together.norm(dim=1), torch.ones(3))


def test_prefix_changes_the_embedding(tiny_e5):
    model, tok = load_model(str(tiny_e5["folder"]))
    assert not torch.allclose(embed_texts(model, tok, TEXTS[:1], "mean", "query: "),
                              embed_texts(model, tok, TEXTS[:1], "mean", ""))


def test_cls_pooling_takes_the_first_state():
    hidden = torch.tensor([[[3.0, 4.0], [1.0, 0.0]]])
    assert torch.allclose(pool(hidden, torch.ones(1, 2), "cls"), torch.tensor([[0.6, 0.8]]))
    assert torch.allclose(pool(hidden, torch.tensor([[1, 0]]), "mean"), torch.tensor([[0.6, 0.8]]))


def test_pooling_round_trips_in_sentence_transformers_files(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    write_pooling(tmp_path, "cls", "passage: ")
    assert read_pooling(tmp_path) == ("cls", "passage: ")
    modules = json.loads((tmp_path / "modules.json").read_text())
    assert [m["type"].split(".")[-1] for m in modules] == ["Transformer", "Pooling", "Normalize"]


def test_folder_without_pooling_is_named(tmp_path):
    with pytest.raises(PoolingError, match="1_Pooling/config.json: not found"):
        read_pooling(tmp_path)


def test_causal_lm_has_no_sentence_pooling(tiny_models):
    model, tok = load_model(str(tiny_models["llama-tied"]))
    with pytest.raises(PoolingError, match="causal LM has no 'mean' pooling"):
        embed_texts(model, tok, TEXTS, "mean")


def test_unknown_pooling_is_named(tiny_e5):
    model, tok = load_model(str(tiny_e5["folder"]))
    with pytest.raises(PoolingError, match="pooling 'max' is not one of"):
        embed_texts(model, tok, TEXTS, "max")
