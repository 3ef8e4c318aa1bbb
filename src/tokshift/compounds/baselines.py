"""Maintained splitters from PyPI as baselines, each run in its own process from its pinned wheel.

- `compound-split` (CharSplit, Tuggener 2016: character n-gram probabilities from German Wikipedia, with its
  dictionary of known words; GPL-3.0): `doc_split.maximal_split`, which splits capitalised words (nouns) only.
  Run from the unpacked wheel in a subprocess, never imported into tokshift.
- `charsplit-fst` (MIT/Apache-2.0) ships wheels for Python >= 3.12 only; on an older interpreter it is skipped
  with that reason (`unavailable`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from tokshift.compounds.pairs import boundaries
from tokshift.core.wheels import FetchError, wheel_of

COMPOUND_SPLIT = "compound-split==1.0.2"
SCRIPT = """
import json, sys
from compound_split import doc_split
for form in json.load(sys.stdin):
    print(json.dumps(doc_split.maximal_split(form), ensure_ascii=False))
"""
HINT = "set params.yaml: decompounder.baselines to [] to skip the baselines"


def unavailable(name: str) -> str | None:
    """Why baseline `name` cannot run here, or None."""
    if name == "charsplit-fst" and sys.version_info < (3, 12):
        return f"charsplit-fst 0.1.4 has wheels for Python >= 3.12 only; this is {sys.version.split()[0]}"
    if name not in ("compound-split", "charsplit-fst"):
        return f"unknown baseline '{name}' (known: compound-split, charsplit-fst)"
    return None


def cuts_of(word: str, parts: list[str]) -> tuple[int, ...] | None:
    """Offsets of `parts` in `word` when they spell it (case aside), else None (the splitter rewrote the word)."""
    return boundaries(parts) if "".join(parts).lower() == word.lower() else None


def compound_split(forms: list[str], raw_dir: Path) -> list[tuple[int, ...] | None]:
    """CharSplit's segmentation of each surface form (None where its parts do not spell the word)."""
    wheel = wheel_of(raw_dir / "pypi", COMPOUND_SPLIT, HINT)
    home = raw_dir / "baselines" / wheel.stem
    if not (home / "compound_split").is_dir():
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(home)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps(forms, ensure_ascii=False),
                          capture_output=True, text=True, cwd=home)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != len(forms):
        raise FetchError(f"{COMPOUND_SPLIT} failed in {home} ({proc.stderr.strip()[-300:]}); delete that folder "
                         f"to unpack the wheel afresh, or {HINT}")
    return [cuts_of(form, json.loads(line)) for form, line in zip(forms, lines, strict=False)]
