"""Evaluating transfers: the original on every language, each transfer on its own, every test chunk scored as the
scorer scores it, weak baselines on the sample's first chunks."""

from __future__ import annotations

import pytest

from tokshift.core.device import autocast
from tokshift.core.params import ParamsError, from_dict
from tokshift.data.samples import sample_chunks
from tokshift.evaluation.evaluate import EvaluateConfig, evaluate_all
from tokshift.model.base import load_model
from tokshift.model.score import ScoreConfig, score_texts
from tokshift.transfers.folder import apply_transfer

SCORE = ScoreConfig(window=64, stride=48, batch_tokens=512)


@pytest.fixture(scope="module")
def rows(tiny_models, ja_transfers, samples_file):
    cfg = EvaluateConfig(langs=["de", "ja"], control_methods=["mean"], control_max_bytes=600, score=SCORE)
    return evaluate_all(tiny_models["llama-tied"], [ja_transfers / "fvt", ja_transfers / "mean"], samples_file, cfg)


def test_every_model_scores_every_chunk_of_its_languages(rows, samples_file):
    models = {(r["model"], r["lang"]) for r in rows}
    assert models == {("original/original", "de"), ("original/original", "ja"), ("ja-unigram-400/fvt", "ja"),
                      ("ja-unigram-400/mean", "ja")}, "a transfer is scored on its languages only"
    ja = sample_chunks(samples_file, "test", "ja", "x")
    assert [(r["doc_id"], r["chunk"]) for r in rows if r["model"] == "ja-unigram-400/fvt"] == \
        [(c["doc_id"], c["chunk"]) for c in ja]
    assert all(r["bytes"] == len(c["text"].encode()) for r, c in
               zip([r for r in rows if r["model"] == "original/original" and r["lang"] == "ja"], ja, strict=True))


def test_chunk_bits_are_the_scorers(rows, tiny_models, ja_transfers, samples_file):
    texts = [c["text"] for c in sample_chunks(samples_file, "test", "ja", "x")]
    model, tok = load_model(str(tiny_models["llama-tied"]))
    original = [r for r in rows if r["model"] == "original/original" and r["lang"] == "ja"]
    with autocast(model.device):  # the stage's precision (bf16 where native), one region per model as there
        reference = score_texts(model, tok, texts, SCORE)
    tok = apply_transfer(model, ja_transfers / "fvt")
    with autocast(model.device):
        fvt = score_texts(model, tok, texts, SCORE)
    assert [r["bits"] for r in original] == pytest.approx(reference.doc_bits, rel=1e-6)
    got = [r for r in rows if r["model"] == "ja-unigram-400/fvt"]
    assert [r["bits"] for r in got] == pytest.approx(fvt.doc_bits, rel=1e-6)
    assert sum(r["tokens"] for r in got) == fvt.n_tokens < sum(r["tokens"] for r in original), \
        "the Japanese tokenizer is shorter on Japanese text"


def test_control_methods_score_the_first_chunks_only(rows, samples_file):
    mean = [(r["doc_id"], r["chunk"]) for r in rows if r["model"] == "ja-unigram-400/mean"]
    assert mean == [(c["doc_id"], c["chunk"]) for c in sample_chunks(samples_file, "test", "ja", "x", 600)]
    assert 0 < len(mean) < len(sample_chunks(samples_file, "test", "ja", "x"))


def test_bad_config_names_the_field():
    with pytest.raises(ParamsError, match="evaluate.max_bytes_per_lang must be >= 0"):
        from_dict(EvaluateConfig, {"max_bytes_per_lang": -1}, "evaluate")
    with pytest.raises(ParamsError, match="evaluate.draws"):
        from_dict(EvaluateConfig, {"draws": 10}, "evaluate")
