"""Bilingual word pairs (English, another language) from Debian's FreeDict dictionaries, for WECHSEL's alignment.

FreeDict ships `dict-freedict-<from>-<to>` packages in dictd format: an `.index` (headword, base-64 offset,
base-64 length per line) and a dictzip'd `.dict` (readable as gzip). An entry is a header line (headword,
pronunciation, part of speech), then one line of translations separated by commas or semicolons, then glosses,
synonyms and "see:" lines, which are skipped. Both directions are read where Debian has them (eng-deu and
deu-eng; eng-rus only; eng-jpn, whose jpn-eng is JMdict's richer format and left out). Pairs are single words
on both sides, lowercased on the English side. Leaves out: multi-word expressions, senses past the first line.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tokshift.core.errors import InputError
from tokshift.data.debian import fetch_package

CODES = {"de": "deu", "ru": "rus", "ja": "jpn", "fr": "fra", "es": "spa", "el": "ell", "ko": "kor", "zh": "zho"}
SIMPLE_FORMAT = {"eng-deu", "deu-eng", "eng-rus", "eng-jpn", "eng-fra", "fra-eng", "eng-spa", "spa-eng", "eng-ell"}
B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
MARKUP = re.compile(r"<[^>]*>|\{[^}]*\}|\[[^\]]*\]|\([^)]*\)|^\d+\.\s*")
WORD = re.compile(r"[^\W\d_][\w'-]*")  # starts with a letter; letters, digits, hyphens, apostrophes


class MissingDictionaryError(InputError):
    """No FreeDict dictionary links English with a language; the message names the packages looked for."""


def b64_number(text: str) -> int:
    """dictd's base-64 numbers: 'A' is 0, 'BA' is 64."""
    value = 0
    for char in text:
        value = value * 64 + B64[char]
    return value


def dictd_entries(index: Path, data: Path) -> Iterator[tuple[str, str]]:
    """(headword, entry text) for every entry of a dictd dictionary (its 00-database-* records skipped)."""
    body = gzip.open(data).read() if data.suffix == ".dz" else data.read_bytes()
    for line in index.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) != 3 or fields[0].startswith("00-database") or fields[0].startswith("00database"):
            continue
        start, length = b64_number(fields[1]), b64_number(fields[2])
        yield fields[0], body[start:start + length].decode("utf-8", errors="replace")


def translations(entry: str) -> list[str]:
    """Single-word translations on the line after the header ('Hund <m>, Köter' -> ['Hund', 'Köter'])."""
    lines = entry.strip("\n").split("\n")
    if len(lines) < 2:
        return []
    out = []
    for item in re.split(r"[,;]", lines[1]):
        word = MARKUP.sub("", item).strip()
        if WORD.fullmatch(word):
            out.append(word)
    return out


def package_exists(package: str) -> bool:
    """Whether Debian's package lists know `package` (without downloading it)."""
    if shutil.which("apt-cache") is None:
        return True  # let the download say why it cannot be fetched
    return subprocess.run(["apt-cache", "show", package], capture_output=True).returncode == 0


def word_pairs(lang: str, raw_dir: Path) -> list[tuple[str, str]]:
    """(English word, `lang` word) pairs from every FreeDict dictionary between the two, deduplicated, sorted."""
    code = CODES.get(lang)
    names = [f"eng-{code}", f"{code}-eng"] if code else []
    wanted = [name for name in names if name in SIMPLE_FORMAT]
    found = [name for name in wanted if (Path(raw_dir) / "debs" / f"dict-freedict-{name}.deb").exists()
             or package_exists(f"dict-freedict-{name}")]  # a downloaded package needs no package list
    if not found:
        looked = ", ".join(f"dict-freedict-{n}" for n in names) or f"a FreeDict package (no ISO 639-3 code for {lang})"
        raise MissingDictionaryError(f"no bilingual dictionary between English and {lang}: Debian has none of "
                                     f"{looked}; WECHSEL needs one to align the two languages")
    pairs = set()
    for name in found:
        root = fetch_package(f"dict-freedict-{name}", raw_dir) / "usr" / "share" / "dictd"
        english_first = name.startswith("eng-")
        for head, entry in dictd_entries(root / f"freedict-{name}.index", root / f"freedict-{name}.dict.dz"):
            if not WORD.fullmatch(head):
                continue
            for word in translations(entry):
                pairs.add((head.lower(), word) if english_first else (word.lower(), head))
    return sorted(pairs)
