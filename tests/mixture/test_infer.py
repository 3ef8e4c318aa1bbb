"""Inference over the pipeline's tokenizers, the validation on known mixtures, and the stages' outputs and errors."""

from __future__ import annotations

import json
import subprocess

import pyarrow.parquet as pq
import pytest

from tests.stages.test_stages import run_stage, write_params
from tokshift.core.errors import InputError
from tokshift.mixture.infer import MixtureConfig, infer_all, log10_mse, samples, truth_shares
from tokshift.mixture.validate import draw_mixtures, validate
from tokshift.tokenization.training import TokenizerConfig, training_texts

TINY = {"categories": ["de", "ru", "ja"], "sample_bytes": 20000, "merges": 80, "extra_tokenizers": {},
        "cluster": "none"}
TINY_VALIDATION = {"mixtures": 3, "per_mixture": 2, "train_bytes": 12000, "vocab_size": 400, "seed": 3}


def tiny_config(tokenizers_dir, **kw) -> MixtureConfig:
    from tokshift.core.params import from_dict

    return from_dict(MixtureConfig, {**TINY, "tokenizers_dir": str(tokenizers_dir),
                                     "validation": TINY_VALIDATION, **kw}, "mixture")


def test_every_bpe_tokenizer_is_inferred_and_unigram_ones_skipped_with_the_reason(corpus_file, tokenizers_dir):
    cfg = tiny_config(tokenizers_dir)
    rows, metrics = infer_all(corpus_file, cfg, {"de-bpe-400": {"de": 1.0}})
    weights = {r["category"]: r["weight"] for r in rows if r["tokenizer"] == "de-bpe-400"}
    assert weights["de"] > 0.8 and sum(weights.values()) == pytest.approx(1)
    assert {r["truth"] for r in rows} == {1.0, 0.0}
    assert "Unigram tokenizer has no merge list" in metrics["skipped"]["ja-unigram-400"]
    entry = metrics["tokenizers"]["de-bpe-400"]
    assert entry["converged"] and entry["merges"] == 80 and entry["merges_per_second"] > 0
    assert entry["log10_mse"] < entry["tee_log10_mse"]


def test_truth_is_what_the_trainer_reads(corpus_file):
    cfg = TokenizerConfig(model="bpe", vocab_size=400, langs=["de", "ja"], max_train_bytes=30000)
    shares = truth_shares(corpus_file, cfg)
    total = sum(len(t.encode()) for t in training_texts(corpus_file, cfg))
    de = sum(len(t.encode()) for t in training_texts(
        corpus_file, TokenizerConfig(model="bpe", vocab_size=400, langs=["de"], max_train_bytes=15000)))
    assert shares["de"] == pytest.approx(de / total) and sum(shares.values()) == pytest.approx(1)


def test_a_category_without_text_is_one_clear_error(corpus_file):
    with pytest.raises(InputError, match=r"no train documents for language 'zh'.*mixture.categories\[1\]"):
        samples(corpus_file, ["de", "zh"], 1000)


def test_log10_mse_counts_missing_categories_as_zero():
    assert log10_mse({"a": 0.5, "b": 0.5}, {"a": 0.4, "b": 0.6}) == pytest.approx(-2)
    assert log10_mse({"a": 1.0, "b": 0.0}, {"a": 1.0}) < -100


def test_mixtures_are_seeded_draws_over_the_categories(tokenizers_dir):
    cfg = tiny_config(tokenizers_dir)
    first, again = draw_mixtures(cfg), draw_mixtures(cfg)
    assert first == again and len(first) == 3
    for mix in first:
        assert len(mix) == 2 and set(mix) <= {"de", "ru", "ja"} and sum(mix.values()) == pytest.approx(1)


def test_validation_beats_both_baselines(corpus_file, tokenizers_dir):
    rows, metrics, plot = validate(corpus_file, tiny_config(tokenizers_dir))
    assert metrics["lp_log10_mse"] < metrics["tee_log10_mse"] and metrics["lp_log10_mse"] < metrics["random_log10_mse"]
    assert len(rows) == 6 and len(plot) == 9
    for mix in metrics["mixtures"]:
        assert sum(mix["truth"].values()) == pytest.approx(1, abs=1e-3)


@pytest.mark.slow
def test_worker_processes_give_the_same_output(corpus_file, tokenizers_dir):
    one = tiny_config(tokenizers_dir)
    two = tiny_config(tokenizers_dir, cluster="local:2")
    assert infer_all(corpus_file, two, {})[0] == infer_all(corpus_file, one, {})[0]
    assert validate(corpus_file, two)[0] == validate(corpus_file, one)[0]


def test_stages_write_parquet_metrics_and_plots(tmp_path, corpus_file, tokenizers_dir):
    params = write_params(tmp_path / "params.yaml", {
        "mixture": {**TINY, "tokenizers_dir": str(tokenizers_dir), "validation": TINY_VALIDATION},
        "tokenizers": {"de-bpe-400": {"model": "bpe", "vocab_size": 400, "langs": ["de"]}}})
    proc = run_stage("mixture.py", "--params", str(params), "--corpus", str(corpus_file), "--out", "m.parquet",
                     "--metrics", "m.json", "--plot", "m.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = pq.read_table(tmp_path / "m.parquet").to_pylist()
    assert {(r["tokenizer"], r["category"]) for r in table} == {("de-bpe-400", c) for c in ("de", "ru", "ja")}
    assert {r["category"]: r["truth"] for r in table} == {"de": 1.0, "ru": 0.0, "ja": 0.0}
    assert "de-bpe-400" in json.loads((tmp_path / "m.json").read_text())["tokenizers"]
    assert "de-bpe-400 truth" in (tmp_path / "m.csv").read_text()
    proc = run_stage("mixture_validation.py", "--params", str(params), "--corpus", str(corpus_file),
                     "--out", "v.parquet", "--metrics", "v.json", "--plot", "v.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert pq.read_table(tmp_path / "v.parquet").column_names == ["mixture", "category", "truth", "lp", "tee",
                                                                   "random"]


def test_bad_input_keeps_the_previous_parquet(tmp_path, corpus_file, tokenizers_dir):
    (tmp_path / "m.parquet").write_bytes(b"previous")
    toks = tmp_path / "toks"
    subprocess.run(["cp", "-r", str(tokenizers_dir), str(toks)], check=True)
    for categories, message in ((["de", "zh"], "no train documents for language 'zh'"),
                                (["de", "de"], "mixture.categories must not repeat a category")):
        params = write_params(tmp_path / "params.yaml", {"mixture": {
            **TINY, "categories": categories, "tokenizers_dir": str(toks), "validation": TINY_VALIDATION}})
        proc = run_stage("mixture.py", "--params", str(params), "--corpus", str(corpus_file), "--out", "m.parquet",
                         "--metrics", "m.json", "--plot", "m.csv", cwd=tmp_path)
        assert proc.returncode == 1
        [line] = proc.stderr.strip().splitlines()
        assert line.startswith("error: ") and message in line
        assert (tmp_path / "m.parquet").read_bytes() == b"previous"


def test_more_categories_per_mixture_than_there_are_is_refused(corpus_file, tokenizers_dir):
    cfg = tiny_config(tokenizers_dir, validation={**TINY_VALIDATION, "per_mixture": 4})
    with pytest.raises(InputError, match=r"mixture.validation.per_mixture must be <= the 3 categories, got 4"):
        validate(corpus_file, cfg)
