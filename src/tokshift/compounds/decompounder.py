"""Train and measure decompounders on the hyphen pairs; keep the one valid prefers for CompoundPiece.

Two of ours (the character tagger, the frequency splitter) and the PyPI baselines are scored on the test
words: exact-match accuracy of the segmentation, on compounds and on non-compounds separately (a
non-compound left whole is right), as in CompoundPiece, plus boundary recall on compounds (the hyphen marks
the writer's main boundary only, so a splitter that also cuts `datenverkehr` misses exact match but not
recall). Intervals resample words. The folder holds the kept model and every test prediction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tokshift.compounds import baselines
from tokshift.compounds.charmodel import CharDecompounder, CharModelConfig, train_char_model
from tokshift.compounds.pairs import cuts, segment
from tokshift.compounds.splitter import FrequencySplitter, accuracy, fit
from tokshift.core.atomic import atomic_dir
from tokshift.core.params import check
from tokshift.stats.bootstrap import mean_interval, paired_mean_difference, ratio_interval

OURS = ("char", "frequency")


@dataclass
class DecompounderConfig:
    char: CharModelConfig = field(default_factory=CharModelConfig)
    """The character tagger."""
    use: str = "best"
    """Which of ours the tokenizer uses: char, frequency, or best (higher mean valid accuracy)."""
    baselines: list[str] = field(default_factory=lambda: ["compound-split", "charsplit-fst"])
    """PyPI splitters scored beside ours (tokshift.compounds.baselines); one that cannot run here is reported."""
    draws: int = 2000
    """Bootstrap resamples of the test words."""

    def __post_init__(self) -> None:
        check(self.use in ("best", *OURS), "use", f"must be best, char or frequency, got '{self.use}'")
        check(self.draws >= 100, "draws", f"must be >= 100, got {self.draws}")


def recall(predicted: Sequence[tuple[int, ...] | None], gold: Sequence[tuple[int, ...]]) -> tuple[list, list]:
    """Per compound: gold boundaries predicted, gold boundaries (for a ratio interval)."""
    hits = [len(set(p or ()) & set(g)) for p, g in zip(predicted, gold, strict=False)]
    return hits, [len(g) for g in gold]


def scores(predicted: list, gold: list, draws: int) -> dict:
    """Exact-match accuracy on compounds and non-compounds (with intervals) and boundary recall on compounds."""
    right = [float(p is not None and tuple(p) == tuple(g)) for p, g in zip(predicted, gold, strict=False)]
    out = {}
    for kind, rows in (("compounds", [i for i, g in enumerate(gold) if g]),
                       ("non_compounds", [i for i, g in enumerate(gold) if not g])):
        out[kind] = {**mean_interval([right[i] for i in rows], draws=draws).as_dict(4), "n": len(rows)}
    comp = [i for i, g in enumerate(gold) if g]
    hits, total = recall([predicted[i] for i in comp], [gold[i] for i in comp])
    out["boundary_recall"] = ratio_interval(hits, total, draws=draws).as_dict(4)
    return out


def load_decompounder(directory: str | Path) -> CharDecompounder | FrequencySplitter:
    """The decompounder a `decompounder` stage kept (its `split_all(words)` gives cut offsets per word)."""
    directory = Path(directory)
    meta = json.loads((directory / "decompounder.json").read_text(encoding="utf-8"))
    if meta["use"] == "char":
        return CharDecompounder.load(directory)
    words = pq.read_table(directory / "counts.parquet")
    counts = dict(zip(words.column("word").to_pylist(), words.column("count").to_pylist(), strict=False))
    return FrequencySplitter(counts, **meta["frequency"])


def train_decompounder(pairs: pa.Table, counts: dict[str, int], cfg: DecompounderConfig, out_dir: Path,
                       raw_dir: Path) -> dict:
    """Fit ours on the train words, choose on valid, score everything on test; write `out_dir`; return metrics."""
    rows = pairs.to_pylist()
    part = {s: [r for r in rows if r["split"] == s] for s in ("train", "valid", "test")}
    words = {s: [r["word"] for r in part[s]] for s in part}
    gold = {s: [cuts(r["segmentation"]) for r in part[s]] for s in part}
    char, curve = train_char_model(words["train"], gold["train"], (words["valid"], gold["valid"]), cfg.char, accuracy)
    frequency, grid = fit(counts, words["train"], gold["train"])
    models = {"char": char, "frequency": frequency}
    valid = {name: accuracy(m.split_all(words["valid"]), gold["valid"]) for name, m in models.items()}
    use = max(valid, key=valid.get) if cfg.use == "best" else cfg.use
    predicted = {name: m.split_all(words["test"]) for name, m in models.items()}
    skipped = {}
    for name in cfg.baselines:
        if reason := baselines.unavailable(name):
            skipped[name] = reason
        else:
            predicted[name] = baselines.compound_split([r["form"] for r in part["test"]], raw_dir)
    metrics = {"use": use, "valid_accuracy": {k: round(v, 4) for k, v in valid.items()},
               "counts": {s: len(part[s]) for s in part}, "skipped_baselines": skipped,
               "test": {name: scores(p, gold["test"], cfg.draws) for name, p in predicted.items()},
               "frequency_grid": grid, "char_curve": curve}
    kept = predicted[use]
    metrics["test_vs"] = {}
    for name, p in predicted.items():
        if name == use:
            continue
        pair = {}
        for kind, keep in (("compounds", True), ("non_compounds", False)):
            idx = [i for i, g in enumerate(gold["test"]) if bool(g) == keep]
            right = [[float(q[i] is not None and tuple(q[i]) == gold["test"][i]) for i in idx] for q in (kept, p)]
            pair[kind] = paired_mean_difference(*right, draws=cfg.draws).comparison(4)
        metrics["test_vs"][f"{use}-vs-{name}"] = pair
    with atomic_dir(out_dir) as tmp:
        char.save(tmp)
        pq.write_table(pa.table({"word": list(counts), "count": list(counts.values())}), tmp / "counts.parquet")
        meta = {"use": use, "frequency": {"min_part": frequency.min_part, "whole_weight": frequency.whole_weight}}
        (tmp / "decompounder.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        table = [{"method": name, "word": r["word"], "form": r["form"], "compound": r["compound"],
                  "gold": r["segmentation"], "predicted": None if c is None else "|".join(segment(r["word"], c)),
                  "correct": c is not None and tuple(c) == g}
                 for name, p in predicted.items() for r, c, g in zip(part["test"], p, gold["test"], strict=False)]
        pq.write_table(pa.Table.from_pylist(table), tmp / "predictions.parquet")
    return metrics

