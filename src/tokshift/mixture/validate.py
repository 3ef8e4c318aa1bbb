"""Validation on known mixtures: train byte-level BPE tokenizers on random mixtures, infer them back.

Each mixture draws `per_mixture` categories and Dirichlet weights (fixed seed), trains a tokenizer with
tokshift's own trainer on that many bytes of each category's `fit` half, and infers it from the disjoint
`sample` half over the same categories. Truth is the byte share actually trained on. Scored as log10 MSE
against two baselines: a random guess (a Dirichlet draw) and encoding efficiency (TEE).
Leaves out: inferring over categories the mixture does not use (the paper's setting knows them).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa

from tokshift.core.cluster import fan_out
from tokshift.core.errors import InputError
from tokshift.data.corpus import capped_texts
from tokshift.mixture.infer import MixtureConfig, infer, log10_mse, samples, summary, tee_weights
from tokshift.mixture.merges import parse_merges, word_counts
from tokshift.mixture.samples import n_bytes
from tokshift.tokenization.training import TokenizerConfig, new_tokenizer

log = logging.getLogger(__name__)

METHODS = ("lp", "tee", "random")
SCHEMA = pa.schema([("mixture", pa.int64()), ("category", pa.string()), ("truth", pa.float64()),
                    ("lp", pa.float64()), ("tee", pa.float64()), ("random", pa.float64())])


def draw_mixtures(cfg: MixtureConfig) -> list[dict[str, float]]:
    """`validation.mixtures` random mixtures: category -> weight, categories in params order."""
    v = cfg.validation
    if v.per_mixture > len(cfg.categories):
        raise InputError(f"params.yaml: mixture.validation.per_mixture must be <= the {len(cfg.categories)} "
                         f"categories, got {v.per_mixture}")
    rng = np.random.default_rng(v.seed)
    out = []
    for _ in range(v.mixtures):
        picked = sorted(rng.choice(len(cfg.categories), v.per_mixture, replace=False))
        weights = rng.dirichlet(np.full(v.per_mixture, v.concentration))
        out.append({cfg.categories[i]: float(w) for i, w in zip(picked, weights, strict=True)})
    return out


def validate_mixture(k: int, mixture: dict[str, float], fit: dict[str, list[str]], sample: dict[str, list[str]],
                     words: dict[str, Counter[str]], guess: dict[str, float], cfg: MixtureConfig
                     ) -> tuple[list[dict], list[dict], dict]:
    """Train on mixture `k`, infer it back: (Parquet rows, plot rows, metrics entry); one fan-out task."""
    v = cfg.validation
    start = time.perf_counter()
    train = {c: capped_texts(fit[c], round(w * v.train_bytes)) for c, w in mixture.items()}
    used = {c: n_bytes(t) for c, t in train.items()}
    truth = {c: b / sum(used.values()) for c, b in used.items()}
    tok, trainer = new_tokenizer(TokenizerConfig(model="bpe", vocab_size=v.vocab_size, langs=list(mixture)))
    docs = [t for texts in train.values() for t in texts]
    tok.train_from_iterator(docs, trainer=trainer, length=len(docs))
    bpe = parse_merges(json.loads(tok.to_str()), f"validation tokenizer {k}")
    est, facts = infer(bpe, sample, words, cfg.merges, cfg.solver)
    guesses = {"lp": est.weights, "tee": tee_weights(bpe.tokenizer, sample), "random": guess}
    rows = [{"mixture": k, "category": c, "truth": truth[c], **{m: guesses[m][c] for m in METHODS}} for c in mixture]
    scores = {m: log10_mse(guesses[m], truth) for m in METHODS}
    plot = [{"mixture": k, "method": m, "log10_mse": round(s, 4)} for m, s in scores.items()]
    entry = {"truth": {c: round(w, 4) for c, w in truth.items()},
             "lp": {c: round(w, 4) for c, w in est.weights.items()},
             **{f"{m}_log10_mse": round(s, 3) for m, s in scores.items()}, **facts, **summary(est),
             "seconds": round(time.perf_counter() - start, 2)}
    return rows, plot, entry


def validate(corpus: str | Path, cfg: MixtureConfig) -> tuple[list[dict], dict, list[dict]]:
    """Rows (mixture, category, truth, lp, tee, random), metrics, and plot rows (mixture, method, log10_mse).

    Texts and words are prepared here (every validation tokenizer splits words alike: byte-level); the
    mixtures then run as tasks on `cfg.cluster`, and come back in order.
    """
    v = cfg.validation
    mixtures = draw_mixtures(cfg)
    fit = samples(corpus, cfg.categories, v.train_bytes, half="fit")
    sample = samples(corpus, cfg.categories, cfg.sample_bytes)
    splitter, _ = new_tokenizer(TokenizerConfig(model="bpe", vocab_size=v.vocab_size, langs=cfg.categories))
    words = {c: word_counts(splitter, sample[c]) for c in {c for mix in mixtures for c in mix}}
    guess_rng = np.random.default_rng(v.seed + 1)
    tasks = []
    for k, mix in enumerate(mixtures):
        guess = dict(zip(mix, guess_rng.dirichlet(np.ones(len(mix))).tolist(), strict=True))
        tasks.append((k, mix, {c: fit[c] for c in mix}, {c: sample[c] for c in mix}, {c: words[c] for c in mix},
                      guess, cfg))
    rows, plot, per_mixture = [], [], []
    for k, (part, points, entry) in enumerate(fan_out(validate_mixture, tasks, cfg.cluster, "mixture.cluster",
                                                      "mixtures")):
        rows += part
        plot += points
        per_mixture.append(entry)
        log.info("mixture %d: log10 MSE lp %.2f, tee %.2f, random %.2f", k,
                 *(entry[f"{m}_log10_mse"] for m in METHODS))
    means = {f"{m}_log10_mse": round(float(np.mean([r[f"{m}_log10_mse"] for r in per_mixture])), 3)
             for m in METHODS}
    return rows, {**means, "mixtures": per_mixture}, plot
