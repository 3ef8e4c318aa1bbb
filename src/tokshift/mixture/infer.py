"""Infer the training-data mixture of every BPE tokenizer of the pipeline (and the base model's own).

For each tokenizer: its merge list (`merges.py`), pair counts of each category's sample along it
(`counts.py`), the LP (`solve.py`), and the encoding-efficiency baseline: a tokenizer packs more bytes
into a token on what it was trained on, so weights proportional to bytes per token on each category's
sample (the TEE baseline of Hayase et al.). Truth, where known, comes from the tokenizer trainer's own
text selection (`truth_shares`). Tokenizers without a merge list (Unigram) are skipped with the reason.
Output: one Parquet row per tokenizer and category (weight, tee, truth), written atomically.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tokenizers import Tokenizer

from tokshift.core.atomic import atomic_file
from tokshift.core.cluster import FORMS, fan_out, is_cluster_spec
from tokshift.core.errors import InputError, MissingFileError
from tokshift.core.params import check
from tokshift.data.languages import check_language
from tokshift.mixture.counts import count_pairs
from tokshift.mixture.merges import BpeMerges, MergeListError, read_merges, word_counts
from tokshift.mixture.samples import category_texts, n_bytes
from tokshift.mixture.solve import Estimate, SolverConfig, solve_mixture
from tokshift.tokenization.training import TokenizerConfig, training_texts

log = logging.getLogger(__name__)

CATEGORIES = ["en", "de", "fr", "es", "ru", "el", "ja", "zh", "ko", "code"]


@dataclass
class ValidationConfig:
    mixtures: int = 10
    """Known mixtures to train a tokenizer on and infer back."""
    per_mixture: int = 5
    """Categories in each mixture (drawn at random from `categories`); inference knows which ones."""
    concentration: float = 1.0
    """Dirichlet concentration of the mixture weights (1 = uniform over the simplex)."""
    train_bytes: int = 1_000_000
    """UTF-8 bytes each validation tokenizer trains on (split by the mixture's weights, from the `fit` half)."""
    vocab_size: int = 4096
    """Vocabulary of the validation tokenizers (byte-level BPE; must leave at least `merges` merges)."""
    seed: int = 0
    """Seed of the mixtures and of the random-guess baseline."""

    def __post_init__(self) -> None:
        check(self.mixtures >= 1, "validation.mixtures", f"must be >= 1, got {self.mixtures}")
        check(self.per_mixture >= 2, "validation.per_mixture", f"must be >= 2, got {self.per_mixture}")
        check(self.concentration > 0, "validation.concentration", f"must be > 0, got {self.concentration}")
        check(self.train_bytes > 0, "validation.train_bytes", f"must be > 0, got {self.train_bytes}")


@dataclass
class MixtureConfig:
    categories: list[str] = field(default_factory=lambda: list(CATEGORIES))
    """Categories the training data is explained by: corpus languages and `code` (their train split is the
    sample text)."""
    sample_bytes: int = 1_000_000
    """UTF-8 bytes of sample text per category (the `sample` half of its train split)."""
    merges: int = 500
    """The first T merges are explained (later merges are rarer, so samples count them less reliably)."""
    tokenizers_dir: str = "storage/tokenizers"
    """Every sub-folder holding a tokenizer.json is inferred (Unigram ones are skipped, with the reason)."""
    extra_tokenizers: dict[str, str] = field(default_factory=lambda: {"original": "storage/models/base"})
    """More tokenizers by name -> folder (the base model's own tokenizer: its mixture is unknown)."""
    solver: SolverConfig = field(default_factory=SolverConfig)
    """The LP and its lazy constraints (tokshift.mixture.solve.SolverConfig)."""
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    """Tokenizers trained on known random mixtures, inferred back (stage mixture_validation)."""
    cluster: str = "local:2"
    """Where the tokenizers (and validation mixtures) run: none (one after the other here), local:N (N worker
    processes: counting is single-threaded Python, so 2 cores halve the time) or a Dask scheduler address.
    Output is identical."""

    def __post_init__(self) -> None:
        check(len(self.categories) >= 2, "categories", "must name at least two categories")
        check(len(set(self.categories)) == len(self.categories), "categories", "must not repeat a category")
        for i, cat in enumerate(self.categories):
            check_language(cat, f"categories[{i}]")
        check(self.sample_bytes > 0, "sample_bytes", f"must be > 0, got {self.sample_bytes}")
        check(self.merges >= 1, "merges", f"must be >= 1, got {self.merges}")
        check(is_cluster_spec(self.cluster), "cluster", f"must be {FORMS}, got '{self.cluster}'")


def samples(corpus: str | Path, categories: list[str], max_bytes: int, half: str = "sample") -> dict[str, list[str]]:
    """category -> sample texts; a category without text is an error naming params.yaml: mixture.categories."""
    out = {}
    for i, cat in enumerate(categories):
        try:
            texts = category_texts(corpus, cat, half, max_bytes, f"mixture.categories[{i}] (add a corpus source for "
                                                                  f"it or drop it)")
        except ValueError as err:  # the corpus reader's own message, which names the field
            raise InputError(str(err)) from None
        if not texts:
            raise InputError(f"{corpus}: no {half} text for category '{cat}'; add a corpus source for it or drop "
                             f"it from params.yaml: mixture.categories")
        out[cat] = texts
    return out


def tee_weights(tok: Tokenizer, texts: dict[str, list[str]]) -> dict[str, float]:
    """Encoding-efficiency baseline: weight proportional to bytes per token on each category's sample."""
    eff = {}
    for cat, docs in texts.items():
        tokens = sum(len(e.ids) for e in tok.encode_batch_fast(docs, add_special_tokens=False))
        eff[cat] = n_bytes(docs) / max(tokens, 1)
    total = sum(eff.values())
    return {cat: v / total for cat, v in eff.items()}


def truth_shares(corpus: str | Path, cfg: TokenizerConfig) -> dict[str, float]:
    """Byte share of each language in what the tokenizer trainer reads for `cfg` (its true mixture)."""
    per_lang = cfg.max_train_bytes // len(cfg.langs)
    used = {}
    for lang in cfg.langs:
        one = TokenizerConfig(**{**cfg.__dict__, "langs": [lang], "max_train_bytes": per_lang})
        used[lang] = sum(len(t.encode("utf-8")) for t in training_texts(Path(corpus), one))
    total = sum(used.values())
    return {lang: b / total for lang, b in used.items()}


def log10_mse(estimate: dict[str, float], truth: dict[str, float]) -> float:
    """log10 of the mean squared error over the estimate's categories (truth 0 where it has none)."""
    err = np.mean([(w - truth.get(cat, 0.0)) ** 2 for cat, w in estimate.items()])
    return float(np.log10(max(err, 1e-300)))


def infer(bpe: BpeMerges, texts: dict[str, list[str]], words: dict[str, Counter[str]], merges: int,
          solver: SolverConfig) -> tuple[Estimate, dict[str, float]]:
    """Estimate (the LP) and counting facts for one tokenizer, given its categories' texts and words."""
    counts = count_pairs(words, {c: n_bytes(t) for c, t in texts.items()}, bpe.merges, bpe.vocab, merges)
    est = solve_mixture(counts, solver)
    steps = len(counts.merged)
    facts = {"merges": steps, "count_seconds": round(counts.seconds, 3),
             "merges_per_second": round(steps / max(counts.seconds, 1e-9), 1)}
    return est, facts


def find_tokenizers(cfg: MixtureConfig) -> dict[str, Path]:
    """name -> tokenizer folder: tokenizers_dir sub-folders plus extra_tokenizers."""
    found = {p.parent.name: p.parent for p in sorted(Path(cfg.tokenizers_dir).glob("*/tokenizer.json"))}
    found.update({name: Path(path) for name, path in cfg.extra_tokenizers.items()})
    if not found:
        raise MissingFileError(f"{cfg.tokenizers_dir}: no tokenizer folders; run `dvc repro` first")
    return found


def infer_tokenizer(name: str, bpe: BpeMerges, texts: dict[str, list[str]], words: dict[str, Counter[str]],
                    truth: dict[str, float] | None, merges: int, solver: SolverConfig) -> tuple[list[dict], dict]:
    """Rows (tokenizer, category, weight, tee, truth) and the metrics entry of one tokenizer (one fan-out task)."""
    start = time.perf_counter()
    est, facts = infer(bpe, texts, words, merges, solver)
    tee = tee_weights(bpe.tokenizer, texts)
    rows = [{"tokenizer": name, "category": cat, "weight": est.weights[cat], "tee": tee[cat],
             "truth": None if truth is None else truth.get(cat, 0.0)} for cat in texts]
    entry = {"weights": {c: round(w, 4) for c, w in est.weights.items()}, **facts, **summary(est),
             "seconds": round(time.perf_counter() - start, 2)}
    if truth is not None:
        entry["log10_mse"] = round(log10_mse(est.weights, truth), 3)
        entry["tee_log10_mse"] = round(log10_mse(tee, truth), 3)
    return rows, entry


def infer_all(corpus: str | Path, cfg: MixtureConfig, truths: dict[str, dict[str, float]],
              tokenizers: dict[str, Path] | None = None) -> tuple[list[dict], dict]:
    """Rows (tokenizer, category, weight, tee, truth) and metrics for every tokenizer (`tokenizers`, name ->
    folder, or those `cfg` names); Unigram ones skipped.

    Words are split here once per pre-tokenizer; the tokenizers then run as tasks on `cfg.cluster`.
    """
    texts = samples(corpus, cfg.categories, cfg.sample_bytes)
    word_cache: dict[str, dict[str, Counter[str]]] = {}
    tasks, skipped = [], {}
    for name, folder in (tokenizers or find_tokenizers(cfg)).items():
        try:
            bpe = read_merges(folder)
        except MergeListError as err:
            skipped[name] = str(err)
            log.info("%s: skipped (%s)", name, err)
            continue
        key = bpe.splitter_key()
        if key not in word_cache:
            word_cache[key] = {c: word_counts(bpe.tokenizer, t) for c, t in texts.items()}
        tasks.append((name, bpe, texts, word_cache[key], truths.get(name), cfg.merges, cfg.solver))
    rows, metrics = [], {}
    for task, (part, entry) in zip(tasks, fan_out(infer_tokenizer, tasks, cfg.cluster, "mixture.cluster",
                                                  "tokenizers"), strict=True):
        rows += part
        metrics[task[0]] = entry
        log.info("%s: %s", task[0], ", ".join(f"{c} {w:.3f}" for c, w in entry["weights"].items()))
    return rows, {"tokenizers": metrics, "skipped": skipped}


def summary(est: Estimate) -> dict:
    """The solver facts of an estimate, rounded for metrics files."""
    return {"slack": round(est.slack, 2), "step_slack": round(est.step_slack, 2),
            "pair_slack": round(est.pair_slack, 2), "residual": round(est.residual, 3),
            "constraints": est.constraints, "rounds": est.rounds, "converged": est.converged,
            "used_merges": est.used_merges, "unseen_merges": est.unseen_merges,
            "lp_seconds": round(est.lp_seconds, 2), "replay_seconds": round(est.replay_seconds, 2)}


SCHEMA = pa.schema([("tokenizer", pa.string()), ("category", pa.string()), ("weight", pa.float64()),
                    ("tee", pa.float64()), ("truth", pa.float64())])


def write_rows(rows: list[dict], path: str | Path, schema: pa.Schema = SCHEMA) -> None:
    """Rows as one Parquet file, replaced atomically (no partial file on error)."""
    table = pa.Table.from_pylist(rows, schema=schema)
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
