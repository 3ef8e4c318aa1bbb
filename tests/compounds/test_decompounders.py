"""Decompounders: the frequency splitter, the character tagger, and the stage that trains, scores and keeps one."""

from __future__ import annotations

import json
import sys
from collections import Counter

import pyarrow as pa
import pytest

from tests.compounds.planted import planted_texts
from tokshift.compounds import baselines
from tokshift.compounds.charmodel import CharDecompounder, CharModelConfig, train_char_model
from tokshift.compounds.decompounder import DecompounderConfig, load_decompounder, train_decompounder
from tokshift.compounds.pairs import CompoundDataConfig, build_pairs, cuts
from tokshift.compounds.splitter import FrequencySplitter, accuracy, fit

COUNTS = Counter({"haus": 50, "tür": 40, "bahnhof": 10, "uhr": 30, "sicherheit": 20, "sicher": 5, "heit": 1})
SMALL = CharModelConfig(hidden=64, layers=1, epochs=20, embed=16, lr=0.01)


@pytest.fixture(scope="module")
def planted():
    rows, counts = build_pairs(planted_texts(), CompoundDataConfig(lexicon="", min_compounds=50))
    return rows, counts


def test_frequency_splitter_cuts_frequent_parts_and_keeps_frequent_words():
    s = FrequencySplitter(dict(COUNTS))
    assert s.split("haustür") == (4,)
    assert s.split("bahnhofsuhr") == (8,)  # the linking s stays with the first part
    assert s.split("sicherheit") == ()  # its own count beats sicher|heit
    assert FrequencySplitter(dict(COUNTS), whole_weight=0.001).split("sicherheit") == (6,)


def test_fit_picks_the_grid_point_with_the_best_accuracy():
    words, gold = ["haustür", "sicherheit", "bahnhofsuhr"], [(4,), (), (8,)]
    splitter, grid = fit(COUNTS, words, gold)
    assert accuracy(splitter.split_all(words), gold) == max(grid.values()) == 1.0


def test_accuracy_averages_compounds_and_non_compounds():
    assert accuracy([(4,), (), (2,), ()], [(4,), (3,), (), ()]) == pytest.approx((1 / 2 + 1 / 2) / 2)


def test_char_model_learns_planted_boundaries_and_round_trips(planted, tmp_path):
    rows, _ = planted
    train = [r for r in rows if r["split"] == "train"]
    held = [r for r in rows if r["split"] != "train"]
    words, gold = [r["word"] for r in train], [cuts(r["segmentation"]) for r in train]
    held_words, held_gold = [r["word"] for r in held], [cuts(r["segmentation"]) for r in held]
    model, curve = train_char_model(words, gold, (held_words, held_gold), SMALL, accuracy)
    assert len(curve) == SMALL.epochs and curve[-1]["train_loss"] < curve[0]["train_loss"]
    assert accuracy(model.split_all(held_words), held_gold) >= 0.85
    model.save(tmp_path)
    again = CharDecompounder.load(tmp_path)
    assert again.split_all(held_words) == model.split_all(held_words)
    assert not any(p.suffix == ".pkl" for p in tmp_path.iterdir())


def test_cuts_never_leave_a_part_shorter_than_min_part():
    model = CharDecompounder(None, {}, CharModelConfig(min_part=2, threshold=0.5))
    # 4 first (0.95); 1 would leave 'a'; 2 leaves ab, cd, ef
    assert model.cuts("abcdef", [0, 0.9, 0.8, 0.1, 0.95, 0.2]) == (2, 4)


def test_decompounder_stage_scores_ours_and_keeps_the_valid_winner(planted, tmp_path):
    rows, counts = planted
    cfg = DecompounderConfig(char=SMALL, baselines=["charsplit-fst"] if sys.version_info < (3, 12) else [])
    metrics = train_decompounder(pa.Table.from_pylist(rows), dict(counts), cfg, tmp_path / "dec", tmp_path)
    assert metrics["use"] in ("char", "frequency") and set(metrics["test"]) == {"char", "frequency"}
    for name in ("char", "frequency"):
        test = metrics["test"][name]
        assert 0 <= test["compounds"]["lo"] <= test["compounds"]["value"] <= test["compounds"]["hi"] <= 1
        assert test["compounds"]["n"] + test["non_compounds"]["n"] == metrics["counts"]["test"]
    other = "frequency" if metrics["use"] == "char" else "char"
    assert set(metrics["test_vs"][f"{metrics['use']}-vs-{other}"]) == {"compounds", "non_compounds"}
    if sys.version_info < (3, 12):
        assert "Python >= 3.12" in metrics["skipped_baselines"]["charsplit-fst"]
    kept = load_decompounder(tmp_path / "dec")
    assert json.loads((tmp_path / "dec" / "decompounder.json").read_text())["use"] == metrics["use"]
    assert kept.split_all(["haustür"]) == [(4,)]


def test_baseline_parts_must_spell_the_word():
    assert baselines.cuts_of("Bahnhofsuhr", ["Bahnhof", "Suhr"]) == (7,)
    assert baselines.cuts_of("Haustür", ["Haustür"]) == ()
    assert baselines.cuts_of("Bahnhofsuhr", ["Bahnhof", "Uhr"]) is None
    assert "unknown baseline 'x'" in baselines.unavailable("x")
