"""Summaries: bpb with intervals, and paired comparisons with the original, FVT and the zero-shot start."""

from __future__ import annotations

import numpy as np
import pytest

from tokshift.evaluation.compare import describe, flat, summarise
from tokshift.stats.bootstrap import paired_relative_difference


def chunk_rows(model: str, bits: list[float], n: int | None = None) -> list[dict]:
    tokenizer, method = model.split("/")
    return [{"model": model, "tokenizer": tokenizer, "method": method, "lang": "de", "doc_id": f"d{i // 2}",
             "chunk": i % 2, "bits": b, "bytes": 100, "tokens": 30} for i, b in enumerate(bits[:n])]


@pytest.fixture(scope="module")
def summary():
    rng = np.random.default_rng(0)
    hard = rng.lognormal(5, 0.5, 60)  # bits per chunk of the original; chunks differ a lot
    rows = (chunk_rows("original/original", list(hard)) + chunk_rows("de-16k/fvt", list(hard * 1.3))
            + chunk_rows("de-16k/hypernet", list(hard * 1.2 * rng.normal(1, 0.01, 60)))
            + chunk_rows("de-16k/hypernet+adapt", list(hard * 1.2 * rng.normal(1, 0.05, 60)))
            + chunk_rows("de-16k/random", list(hard * 2.0), n=20))
    return {r["model"]: r for r in summarise(rows, draws=500)}, rows


def test_each_model_has_its_bpb_interval(summary):
    by_model, rows = summary
    original = by_model["original/original"]
    assert original["bpb"] == pytest.approx(sum(r["bits"] for r in rows[:60]) / 6000, abs=1e-5)
    assert original["bpb_lo"] < original["bpb"] < original["bpb_hi"]
    assert (original["chunks"], original["docs"], original["bytes"]) == (60, 30, 6000)
    assert "vs_original" not in original


def test_comparisons_are_the_ones_people_read(summary):
    by_model, _ = summary
    assert set(by_model["de-16k/fvt"]) >= {"vs_original"} and "vs_fvt" not in by_model["de-16k/fvt"]
    hyper = by_model["de-16k/hypernet"]
    assert hyper["vs_fvt"]["value"] == pytest.approx(1.2 / 1.3 - 1, abs=0.005) and hyper["vs_fvt"]["verdict"] == "lower"
    assert hyper["vs_original"]["verdict"] == "higher"
    adapted = by_model["de-16k/hypernet+adapt"]
    assert "vs_fvt" not in adapted and adapted["vs_zero_shot"]["verdict"] == "tie", "noise around the same level"


def test_a_baseline_on_fewer_chunks_is_compared_on_those_chunks(summary):
    by_model, rows = summary
    random = by_model["de-16k/random"]
    assert random["chunks"] == 20
    fvt_bits = [r["bits"] for r in rows if r["model"] == "de-16k/fvt"][:20]
    own = [r["bits"] for r in rows if r["model"] == "de-16k/random"]
    expected = paired_relative_difference(own, fvt_bits, [r["doc_id"] for r in rows[:20]], draws=500)
    assert random["vs_fvt"]["value"] == pytest.approx(expected.value, abs=1e-5) == pytest.approx(2 / 1.3 - 1, abs=1e-5)


def test_flat_rows_and_words(summary):
    by_model, _ = summary
    row = flat(by_model["de-16k/hypernet+adapt"])
    assert row["vs_zero_shot_verdict"] == "tie" and row["vs_fvt"] == "" and "vs_original_lo" in row
    assert describe({"value": -0.094, "lo": -0.11, "hi": -0.079, "verdict": "lower"}, "FVT") == \
        "-9.4% [-11.0%, -7.9%] vs FVT"
    assert describe({"value": 0.008, "lo": -0.012, "hi": 0.029, "verdict": "tie"}, "FVT") == \
        "tie with FVT (+0.8% [-1.2%, +2.9%])"
