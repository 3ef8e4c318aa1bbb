"""Where corpus text comes from (SourceConfig), and the readers of user-named sources: a Hugging Face
dataset, or local txt/jsonl/parquet files.

The embedded default's sources are listed here (embedded_sources); their readers (Debian packages,
Python stdlib) live in `debian` and `extract`. Every
reader here yields `(source name, text)` and fails with the file (and byte offset or line) at
fault. Leaves out: other file formats (convert them to jsonl first).
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from tokshift.core.errors import TokshiftError
from tokshift.core.params import check
from tokshift.data.languages import check_language

KINDS = ("debian", "python_stdlib", "hf", "files")
FILE_SUFFIXES = (".txt", ".jsonl", ".parquet")


@dataclass
class SourceConfig:
    kind: str
    """One of `debian`, `python_stdlib`, `hf`, `files`."""
    lang: str
    """Language tag of every document from this source (`en`, `de`, ..., or `code`)."""
    packages: list[str] = field(default_factory=list)
    """debian: package names to fetch with `apt-get download`."""
    path: str | None = None
    """hf: dataset id (`datasets.load_dataset(path)`); files: a glob relative to the project root."""
    name: str | None = None
    """hf: dataset configuration name."""
    split: str = "train"
    """hf: which split of the dataset to read."""
    text_field: str = "text"
    """hf / jsonl / parquet: the field that holds the text."""
    max_docs: int | None = None
    """Stop reading this source after this many distinct documents (hf streams can be endless)."""

    def __post_init__(self) -> None:
        check(self.kind in KINDS, "kind", f"must be one of {list(KINDS)}, got '{self.kind}'")
        check_language(self.lang, "lang")
        if self.kind == "debian":
            check(bool(self.packages), "packages", "must list at least one Debian package for kind debian")
        if self.kind in ("hf", "files"):
            check(bool(self.path), "path", f"is required for kind {self.kind}")
        check(self.max_docs is None or self.max_docs > 0, "max_docs", f"must be > 0, got {self.max_docs}")


EMBEDDED_PACKAGES = {
    "en": ["libreoffice-help-en-us", "manpages"], "de": ["libreoffice-help-de", "manpages-de"],
    "fr": ["libreoffice-help-fr", "manpages-fr"], "es": ["libreoffice-help-es", "manpages-es"],
    "ru": ["libreoffice-help-ru", "manpages-ru"], "el": ["libreoffice-help-el", "manpages-el"],
    "ja": ["libreoffice-help-ja", "manpages-ja"], "zh": ["libreoffice-help-zh-cn", "manpages-zh"],
    "ko": ["libreoffice-help-ko"],
}
"""Debian documentation packages of the embedded default corpus, per language."""


def embedded_sources() -> list[SourceConfig]:
    """The default corpus: LibreOffice help and man pages per language, and the Python standard library as code."""
    return [*(SourceConfig(kind="debian", lang=lang, packages=list(pkgs)) for lang, pkgs in EMBEDDED_PACKAGES.items()),
            SourceConfig(kind="python_stdlib", lang="code")]


class SourceFileError(TokshiftError, ValueError):
    """A local source file cannot be read as UTF-8 text; the message names the file and spot."""


def decode_utf8(data: bytes, where: str) -> str:
    """Strict UTF-8 decode whose error names `where` and the byte offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SourceFileError(
            f"{where}: invalid UTF-8 at byte {err.start} ({data[err.start:err.start + 4]!r}); re-encode the "
            f"file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`) or remove it from the source glob"
        ) from None


def file_texts(pattern: str, text_field: str = "text") -> Iterator[tuple[str, str]]:
    """Documents from files matching `pattern`: a .txt file is one document, jsonl/parquet one per row."""
    paths = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
    if not paths:
        raise SourceFileError(f"files source '{pattern}': no file matches; check the glob (relative to the "
                              f"project root)")
    for path in paths:
        suffix = path.suffix.lower()
        if suffix == ".txt":
            yield str(path), decode_utf8(path.read_bytes(), str(path))
        elif suffix == ".jsonl":
            for lineno, line in enumerate(path.read_bytes().split(b"\n"), start=1):
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                try:
                    row = json.loads(decode_utf8(line, where))
                except json.JSONDecodeError as err:
                    raise SourceFileError(f"{where}: not valid JSON ({err.msg}); fix or remove the line") from None
                if not isinstance(row, dict) or not isinstance(row.get(text_field), str):
                    raise SourceFileError(f"{where}: no string field '{text_field}'; set text_field in the source")
                yield str(path), row[text_field]
        elif suffix == ".parquet":
            table = pq.read_table(path)
            if text_field not in table.column_names:
                raise SourceFileError(f"{path}: no column '{text_field}' (has {table.column_names}); set text_field")
            for text in table.column(text_field).to_pylist():
                if text:
                    yield str(path), text
        else:
            raise SourceFileError(f"{path}: unsupported file type '{suffix}'; use one of {FILE_SUFFIXES}")


def hf_texts(path: str, name: str | None, split: str, text_field: str,
             max_docs: int | None) -> Iterator[str]:
    """Stream the `text_field` of a Hugging Face dataset (needs network or a local dataset folder)."""
    import datasets

    dataset = datasets.load_dataset(path, name, split=split, streaming=True)
    for i, row in enumerate(dataset):
        if max_docs is not None and i >= max_docs:
            break
        if text_field not in row:
            raise SourceFileError(f"hf dataset {path}: no field '{text_field}' (has {sorted(row)}); set text_field")
        if row[text_field]:
            yield row[text_field]
