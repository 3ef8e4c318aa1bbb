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
from tqdm import tqdm

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


def validate(corpus: str | Path, cfg: MixtureConfig) -> tuple[list[dict], dict, list[dict]]:
    """Rows (mixture, category, truth, lp, tee, random), metrics, and plot rows (mixture, method, log10_mse)."""
    v = cfg.validation
    fit = samples(corpus, cfg.categories, v.train_bytes, half="fit")
    sample = samples(corpus, cfg.categories, cfg.sample_bytes)
    guess_rng = np.random.default_rng(v.seed + 1)
    words: dict[str, Counter[str]] = {}
    rows, plot, per_mixture = [], [], []
    for k, mixture in enumerate(tqdm(draw_mixtures(cfg), desc="mixtures", disable=None)):
        start = time.perf_counter()
        train = {c: capped_texts(fit[c], round(w * v.train_bytes)) for c, w in mixture.items()}
        used = {c: n_bytes(t) for c, t in train.items()}
        truth = {c: b / sum(used.values()) for c, b in used.items()}
        tok, trainer = new_tokenizer(TokenizerConfig(model="bpe", vocab_size=v.vocab_size, langs=list(mixture)))
        docs = [t for texts in train.values() for t in texts]
        tok.train_from_iterator(docs, trainer=trainer, length=len(docs))
        bpe = parse_merges(json.loads(tok.to_str()), f"validation tokenizer {k}")
        texts = {c: sample[c] for c in mixture}
        for c in mixture:  # every validation tokenizer splits words alike (byte-level), so count them once
            if c not in words:
                words[c] = word_counts(bpe.tokenizer, texts[c])
        est, facts = infer(bpe, texts, {c: words[c] for c in mixture}, cfg.merges, cfg.solver)
        guesses = {"lp": est.weights, "tee": tee_weights(bpe.tokenizer, texts),
                   "random": dict(zip(mixture, guess_rng.dirichlet(np.ones(len(mixture))).tolist(), strict=True))}
        for c in mixture:
            rows.append({"mixture": k, "category": c, "truth": truth[c],
                         **{m: guesses[m][c] for m in METHODS}})
        scores = {m: log10_mse(guesses[m], truth) for m in METHODS}
        plot += [{"mixture": k, "method": m, "log10_mse": round(s, 4)} for m, s in scores.items()]
        per_mixture.append({"truth": {c: round(w, 4) for c, w in truth.items()},
                            "lp": {c: round(w, 4) for c, w in est.weights.items()},
                            **{f"{m}_log10_mse": round(s, 3) for m, s in scores.items()}, **facts,
                            **summary(est), "seconds": round(time.perf_counter() - start, 2)})
        log.info("mixture %d: log10 MSE lp %.2f, tee %.2f, random %.2f", k, *scores.values())
    means = {f"{m}_log10_mse": round(float(np.mean([r[f"{m}_log10_mse"] for r in per_mixture])), 3)
             for m in METHODS}
    return rows, {**means, "mixtures": per_mixture}, plot
