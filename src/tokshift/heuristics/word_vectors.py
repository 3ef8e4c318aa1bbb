"""Monolingual fastText word vectors trained on the corpus's train split (WECHSEL's word spaces).

Text is cut into lowercased words (letters first, then letters, digits, hyphens, apostrophes; Japanese, which
writes no spaces, through MeCab with the UniDic-lite dictionary via fugashi) and fastText learns skipgram
vectors with character n-grams, so any string, a subword token included, gets a vector. One training thread
(fastText's seed is fixed; several threads race, so runs would differ). The n-gram table is sized by
`buckets` (fastText's default 2M buckets would make each model 800 MB at 100 dimensions).
Leaves out: pretrained vectors (no hub here).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tokshift.core.atomic import atomic_file
from tokshift.core.errors import InputError
from tokshift.core.params import check
from tokshift.data.dictionaries import WORD  # the dictionaries' words are the vectors' words

MIN_WORDS = 5_000  # fastText diverges or varies from run to run on smaller texts
UNSEGMENTED = {"ja"}  # languages written without spaces between words, segmented by a morphological analyser


@dataclass
class WordVectorConfig:
    max_bytes: int = 3_000_000
    """Train-split text (UTF-8 bytes) per language that fastText learns from."""
    dim: int = 100
    """Vector size."""
    epochs: int = 10
    """Passes over the text."""
    min_count: int = 3
    """Words seen fewer times get no vector of their own (their n-grams still give one)."""
    minn: int = 3
    """Shortest character n-gram."""
    maxn: int = 6
    """Longest character n-gram."""
    buckets: int = 200_000
    """Hash buckets for n-grams (the model file is about (words + buckets) x dim x 4 bytes)."""
    lr: float = 0.05
    """Learning rate (fastText's default; lower it if training diverges on small or repetitive text)."""

    def __post_init__(self) -> None:
        for name in ("max_bytes", "dim", "epochs", "min_count", "buckets"):
            check(getattr(self, name) >= 1, name, f"must be >= 1, got {getattr(self, name)}")
        check(0 < self.lr < 1, "lr", f"must be in (0, 1), got {self.lr}")
        check(1 <= self.minn <= self.maxn, "minn", f"must be in [1, maxn={self.maxn}], got {self.minn}")


def segmenter(lang: str):
    """text -> lowercased words of language `lang`."""
    if lang not in UNSEGMENTED:
        return lambda text: WORD.findall(text.lower())
    import fugashi

    tagger = fugashi.Tagger()
    return lambda text: [w.surface.lower() for w in tagger(text) if WORD.fullmatch(w.surface)]


def word_lines(texts: list[str], lang: str) -> Iterator[str]:
    """One line of space-separated words per non-empty line of text."""
    split = segmenter(lang)
    for text in texts:
        for line in text.splitlines():
            if words := split(line):
                yield " ".join(words)


# fastText runs in a fresh interpreter per model: trainings after the first in one process are not always
# reproducible (on small texts they sometimes diverge), a fresh process always is. The vocabulary it
# reports leaves out fastText's end-of-line word </s>.
TRAIN = ("import fasttext, json, sys; m = fasttext.train_unsupervised(sys.argv[1], **json.loads(sys.argv[3])); "
         "m.save_model(sys.argv[2]); print(json.dumps({'vocabulary': len(m.words) - ('</s>' in m.words)}))")


def train_vectors(texts: list[str], lang: str, out: str | Path, cfg: WordVectorConfig) -> dict:
    """Train a skipgram fastText model on `texts` (language `lang`), save it to `out`; returns its sizes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "words.txt"
        n_words = 0
        with path.open("w", encoding="utf-8") as f:
            for line in word_lines(texts, lang):
                f.write(line + "\n")
                n_words += line.count(" ") + 1
        if n_words < MIN_WORDS:
            raise InputError(f"word vectors: {n_words} {lang} words in the train text, fastText needs at least "
                             f"{MIN_WORDS}; add {lang} documents to the corpus")
        args = {"model": "skipgram", "dim": cfg.dim, "epoch": cfg.epochs, "lr": cfg.lr, "minCount": cfg.min_count,
                "minn": cfg.minn, "maxn": cfg.maxn, "bucket": cfg.buckets, "thread": 1, "verbose": 0}
        with atomic_file(out) as part:
            proc = subprocess.run([sys.executable, "-c", TRAIN, str(path), str(part), json.dumps(args)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                why = (proc.stderr.strip().splitlines() or ["no message"])[-1]
                raise InputError(f"word vectors ({lang}): fastText failed on {n_words} words ({why}); lower "
                                 f"vectors.lr (now {cfg.lr}) or give it more varied text")
    return {"train_words": n_words, **json.loads(proc.stdout.strip().splitlines()[-1])}


def load_vectors(path: str | Path):
    """A fastText model written by train_vectors (fastText's own binary format, not a pickle)."""
    import fasttext

    if not Path(path).is_file():
        raise InputError(f"{path}: no word vectors; run `dvc repro word_vectors` (or train them) first")
    try:
        return fasttext.load_model(str(path))
    except ValueError as err:
        raise InputError(f"{path}: not a fastText model ({err}); delete it and rerun `dvc repro word_vectors`") \
            from None
