"""Evaluating transfers: the original on every language, each transfer on its own, scored as the scorer does."""

from __future__ import annotations

import pytest

from tokshift.core.params import ParamsError, from_dict
from tokshift.data.corpus import capped_texts, split_texts
from tokshift.evaluation.evaluate import EvaluateConfig, evaluate_all
from tokshift.model.base import load_model
from tokshift.model.score import ScoreConfig, score_texts
from tokshift.transfers.folder import apply_transfer

SCORE = ScoreConfig(window=64, stride=48, batch_tokens=512)


def test_rows_are_the_scores_of_the_original_and_of_each_transfer(tiny_models, ja_transfers, corpus_file):
    cfg = EvaluateConfig(langs=["de", "ja"], max_bytes_per_lang=1500, score=SCORE)
    rows = evaluate_all(tiny_models["llama-tied"], [ja_transfers / "fvt", ja_transfers / "mean"], corpus_file, cfg)
    assert [(r["model"], r["lang"]) for r in rows] == [
        ("original/original", "de"), ("original/original", "ja"),
        ("ja-unigram-400/fvt", "ja"), ("ja-unigram-400/mean", "ja")], "a transfer is scored on its languages only"
    texts = capped_texts(split_texts(corpus_file, "test", "ja", "langs"), 1500)
    model, tok = load_model(str(tiny_models["llama-tied"]))
    assert rows[1]["bpb"] == pytest.approx(score_texts(model, tok, texts, SCORE).bpb, rel=1e-6)
    tok = apply_transfer(model, ja_transfers / "fvt")
    fvt = score_texts(model, tok, texts, SCORE)
    assert rows[2]["bpb"] == pytest.approx(fvt.bpb, rel=1e-6) and rows[2]["tokens"] == fvt.n_tokens
    assert rows[2]["tokens"] < rows[1]["tokens"], "the Japanese tokenizer is shorter on Japanese text"
    assert rows[3]["bpb"] > rows[2]["bpb"], "FVT beats random rows from the embedding statistics"


def test_bad_config_names_the_field():
    with pytest.raises(ParamsError, match="evaluate.max_bytes_per_lang must be > 0"):
        from_dict(EvaluateConfig, {"max_bytes_per_lang": 0}, "evaluate")
