"""Aligned word spaces for WECHSEL: fastText for the source and each target language, mapped by a dictionary.

`build_spaces` reads each language's FreeDict pairs first (a language without a dictionary is skipped with
the reason, before any training), trains the word vectors (word_vectors.py; one task per language, fanned out
on `cluster`), aligns each target language to the source (alignment.py) and writes, into one folder,
`<lang>.bin` (fastText) and `<lang>.alignment.safetensors` (map and means). `load_space` reads a pair back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from tokshift.core.atomic import atomic_dir
from tokshift.core.cluster import FORMS, fan_out, is_cluster_spec
from tokshift.core.errors import InputError
from tokshift.core.params import check
from tokshift.data.corpus import capped_texts, read_corpus
from tokshift.data.dictionaries import MissingDictionaryError, word_pairs
from tokshift.data.languages import check_language
from tokshift.heuristics.alignment import Alignment, align
from tokshift.heuristics.word_vectors import WordVectorConfig, load_vectors, train_vectors


@dataclass
class WechselConfig:
    tokenizers: list[str] = field(default_factory=lambda: ["de-bpe-16k", "ru-bpe-16k", "ja-unigram-16k"])
    """One-language target tokenizers (under storage/tokenizers) transferred with WECHSEL; each is one stage."""
    languages: list[str] = field(default_factory=lambda: ["de", "ru", "ja", "ko", "zh"])
    """Target languages aligned to the source; one without a FreeDict dictionary is skipped with the reason."""
    source: str = "en"
    """The base model's language, whose word space the target languages are mapped onto."""
    vectors: WordVectorConfig = field(default_factory=WordVectorConfig)
    """fastText training (tokshift.heuristics.word_vectors.WordVectorConfig)."""
    heldout: float = 0.2
    """Share of dictionary headwords held out to score the alignment (precision@1)."""
    neighbours: int = 3
    """k: source tokens mixed into each target token (the paper's 10 was worse on the valid split here: de bpb
    2.43 at 10, 2.36 at 3, 2.39 at 5, 2.44 at 1; ru and ja agree)."""
    temperature: float = 0.1
    """Softmax temperature over the neighbours' cosine similarities."""
    seed: int = 0
    """Seed of the held-out split."""
    cluster: str = "local:2"
    """Where the languages' fastText models train: none (one after the other), local:N (N worker processes;
    fastText trains on one thread, so 2 cores halve the time) or a Dask scheduler address. Output is identical."""

    def __post_init__(self) -> None:
        check_language(self.source, "source")
        for i, lang in enumerate(self.languages):
            check_language(lang, f"languages[{i}]")
            check(lang != self.source, f"languages[{i}]", f"must differ from source '{self.source}'")
        check(0 <= self.heldout < 1, "heldout", f"must be in [0, 1), got {self.heldout}")
        check(self.neighbours >= 1, "neighbours", f"must be >= 1, got {self.neighbours}")
        check(self.temperature > 0, "temperature", f"must be > 0, got {self.temperature}")
        check(is_cluster_spec(self.cluster), "cluster", f"must be {FORMS}, got '{self.cluster}'")


def train_language(corpus: str, lang: str, out: str, cfg: WordVectorConfig) -> dict:
    """One task: a language's word vectors from its train split."""
    start = time.perf_counter()
    texts = capped_texts(read_corpus(corpus, split="train", lang=lang).column("text").to_pylist(), cfg.max_bytes)
    return {**train_vectors(texts, lang, out, cfg), "seconds": round(time.perf_counter() - start, 1)}


def build_spaces(corpus: str | Path, raw_dir: str | Path, out_dir: str | Path, cfg: WechselConfig) -> dict:
    """Write the word vectors and alignments of `cfg.languages` into `out_dir` (atomically); returns metrics."""
    metrics: dict[str, dict] = {}
    pairs = {}
    for lang in cfg.languages:
        try:
            pairs[lang] = word_pairs(lang, Path(raw_dir))
        except MissingDictionaryError as err:
            metrics[lang] = {"skipped": str(err)}
    with atomic_dir(out_dir) as tmp:
        langs = [cfg.source, *pairs]
        tasks = [(str(corpus), lang, str(tmp / f"{lang}.bin"), cfg.vectors) for lang in langs]
        trained = dict(zip(langs, fan_out(train_language, tasks, cfg.cluster, "wechsel.cluster", "word vectors"),
                           strict=True))
        source = load_vectors(tmp / f"{cfg.source}.bin")
        metrics[cfg.source] = trained[cfg.source]
        for lang, lang_pairs in pairs.items():
            alignment, report = align(source, load_vectors(tmp / f"{lang}.bin"), lang_pairs, cfg.heldout, cfg.seed)
            save_file({"matrix": alignment.matrix, "source_mean": alignment.source_mean,
                       "target_mean": alignment.target_mean}, str(tmp / f"{lang}.alignment.safetensors"),
                      metadata={"source": cfg.source})  # one key: safetensors writes keys in any order
            metrics[lang] = {**trained[lang], **report}
    return {lang: metrics[lang] for lang in [cfg.source, *cfg.languages]}


def load_space(folder: str | Path, source: str, lang: str):
    """(source fastText model, `lang` fastText model, Alignment) from a folder build_spaces wrote."""
    path = Path(folder) / f"{lang}.alignment.safetensors"
    if not path.is_file():
        raise InputError(f"{path}: no alignment of '{lang}' to '{source}'; add {lang} to params.yaml: "
                         f"wechsel.languages (it needs a FreeDict dictionary) and run `dvc repro word_vectors`")
    with safe_open(str(path), "np") as f:
        aligned_to = (f.metadata() or {}).get("source")
    if aligned_to != source:
        raise InputError(f"{path}: '{lang}' is aligned to '{aligned_to}', not to '{source}'; set params.yaml: "
                         f"wechsel.source to the base model's language and run `dvc repro word_vectors`")
    arrays = load_file(str(path))
    alignment = Alignment(arrays["source_mean"].astype(np.float64), arrays["target_mean"].astype(np.float64),
                          arrays["matrix"].astype(np.float64))
    return load_vectors(Path(folder) / f"{source}.bin"), load_vectors(Path(folder) / f"{lang}.bin"), alignment
