"""Planted German text: compounds of known nouns, written hyphenated in some places and joined in others."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

NOUNS = ["Haus", "Tür", "Datei", "Menü", "Fenster", "Rahmen", "Garten", "Tisch", "Lampe", "Wasser", "Glas", "Buch",
         "Regal", "Schrank", "Stuhl", "Wagen", "Straße", "Karte", "Brief", "Kasten"]
SIMPLE = ["Sicherheit", "Verzeichnis", "aktualisieren", "Zeichen", "Anforderungen", "exportiert", "statischen",
          "Dimensionen", "virtuelle", "sauber", "notwendige", "Zustände", "gewählt", "problematisch", "erstellten"]
FILLERS = ["die", "der", "und", "mit", "auf", "ist", "ein", "eine", "im"]


def compounds() -> list[tuple[str, str]]:
    return [(a, b) for a in NOUNS for b in NOUNS if a != b]


def planted_texts(n_docs: int = 40, seed: int = 0) -> list[str]:
    """Documents where every compound appears hyphenated once and joined once, among simplex words and nouns."""
    rng = random.Random(seed)
    pairs = compounds()
    docs = []
    for d in range(n_docs):
        words = []
        for a, b in pairs[d::n_docs]:
            words += [f"{a}-{b}", rng.choice(FILLERS), a + b.lower(), rng.choice(FILLERS)]
        words += rng.sample(SIMPLE, 6) + rng.sample(SIMPLE, 6) + rng.sample(NOUNS, 8) + rng.sample(NOUNS, 8)
        rng.shuffle(words)
        docs.append(" ".join(words) + ".")
    return docs


def write_corpus(path: Path, texts: list[str], lang: str = "de") -> Path:
    """A corpus Parquet file with every text in the train split."""
    n = len(texts)
    pq.write_table(pa.table({"doc_id": [f"d{i}" for i in range(n)], "lang": [lang] * n, "source": ["planted"] * n,
                             "split": ["train"] * n, "text": texts}), path)
    return path
