"""The user's view of a transfer: parameters and greedy generation speed, measured on the exported folder."""

from __future__ import annotations

import pytest

from tokshift.core.params import ParamsError
from tokshift.evaluation.speed import SpeedConfig, prompts, report, timed_generation


def test_prompts_are_chunk_openings_from_distinct_documents_first(samples_file):
    texts = prompts(samples_file, "de", SpeedConfig(langs=["de"], prompts=3, prompt_bytes=40))
    assert len(texts) == 3 and all(0 < len(t.encode("utf-8")) <= 40 for t in texts)
    assert len(set(texts)) == 3


def test_every_prompt_is_timed_once_after_an_uncounted_warm_up(tiny_models):
    from tokshift.model.base import load_model

    model, tok = load_model(str(tiny_models["llama-tied"]))
    rows = timed_generation(model, tok, ["ein der", "die und"], new_tokens=4)
    assert len(rows) == 2 and all(b > 0 and s > 0 for b, s in rows)


def test_report_measures_the_exported_folder_against_the_original(tiny_models, ja_transfers, samples_file):
    cfg = SpeedConfig(langs=["de", "ja"], prompts=2, prompt_bytes=40, new_tokens=3, draws=100)
    out = report(tiny_models["llama-tied"], [ja_transfers / "fvt"], samples_file, cfg)
    assert set(out) == {"original", "ja-unigram-400/fvt"}
    assert set(out["original"]) >= {"de", "ja"} and "de" not in out["ja-unigram-400/fvt"]  # its language only
    moved = out["ja-unigram-400/fvt"]
    assert moved["vocab_size"] == 400 and moved["parameters_vs_original"] == 1.0  # both vocabularies have 400
    assert moved["ja"]["bytes_per_second_lo"] <= moved["ja"]["bytes_per_second"] <= moved["ja"]["bytes_per_second_hi"]
    assert moved["ja"]["seconds_per_byte_vs_original"]["verdict"] in ("lower", "higher", "tie")


def test_one_prompt_gives_no_interval_and_is_refused():
    with pytest.raises(ParamsError, match="prompts must be >= 2"):
        SpeedConfig(prompts=1)
