"""Text from user-named sources: a Hugging Face dataset, or local txt/jsonl/parquet files.

The embedded default (Debian packages, Python stdlib) lives in `debian` and `extract`. Every
reader here yields `(source name, text)` and fails with the file (and byte offset or line) at
fault. Leaves out: other file formats (convert them to jsonl first).
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq

from tokshift.core.errors import TokshiftError

KINDS = ("debian", "python_stdlib", "hf", "files")
FILE_SUFFIXES = (".txt", ".jsonl", ".parquet")


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
