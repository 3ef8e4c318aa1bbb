"""A noun lexicon from a pinned PyPI package: `german-nouns` (about 100k nouns of the German Wiktionary).

Its nouns.csv has one row per lemma and its inflected forms in the other columns; tokshift reads the lemmas
(known words) and a form -> lemma map (group keys, so inflections of one word never straddle train and test).
The data is CC BY-SA 4.0 (Wiktionary); it is downloaded at run time and never shipped with tokshift.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from tokshift.core.errors import TokshiftError
from tokshift.core.wheels import wheel_of

CSV_MEMBER = "german_nouns/nouns.csv"
HINT = "set params.yaml: compound_data.lexicon to \"\" to build the data without a lexicon"


class LexiconError(TokshiftError, ValueError):
    """The lexicon file lacks the columns tokshift reads."""


def read_nouns(rows: io.TextIOBase, where: str) -> tuple[set[str], dict[str, str]]:
    """Lowercased lemmas, and lowercased form -> lemma (a form of several lemmas keeps the first), from nouns.csv."""
    reader = csv.reader(rows)
    header = next(reader, [])
    if "lemma" not in header or "pos" not in header:
        raise LexiconError(f"{where}: no 'lemma' and 'pos' columns in the header; the lexicon package changed, "
                           f"pin the version params.yaml names")
    lemma_at, pos_at = header.index("lemma"), header.index("pos")
    first_form = max(i for i, name in enumerate(header) if name.startswith("genus")) + 1
    lemmas: set[str] = set()
    forms: dict[str, str] = {}
    for row in reader:
        if not row or "Substantiv" not in row[pos_at]:
            continue
        lemma = row[lemma_at].lower()
        if not lemma.isalpha():  # affixes (-ant), abbreviations and multiword entries are no known words
            continue
        lemmas.add(lemma)
        for form in row[first_form:]:
            if form and form.isalpha():
                forms.setdefault(form.lower(), lemma)
    return lemmas, forms


def german_nouns(raw_dir: Path, package: str) -> tuple[set[str], dict[str, str]]:
    """Lemmas and form -> lemma from the pinned `package` (downloaded into raw_dir/pypi once)."""
    wheel = wheel_of(raw_dir / "pypi", package, HINT)
    with zipfile.ZipFile(wheel) as zf, zf.open(CSV_MEMBER) as raw:
        return read_nouns(io.TextIOWrapper(raw, encoding="utf-8", newline=""), f"{wheel.name}:{CSV_MEMBER}")
