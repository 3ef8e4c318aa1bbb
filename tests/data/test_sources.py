"""User-named sources: txt, jsonl and parquet files read as documents; every bad file is named with its spot."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tokshift.data.sources import SourceFileError, decode_utf8, file_texts


def test_each_file_kind_gives_its_documents_in_path_order(tmp_path):
    (tmp_path / "a.txt").write_text("ein Text\nzwei Zeilen", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"text": "erste"}\n\n{"text": "zweite"}\n', encoding="utf-8")
    pq.write_table(pa.table({"body": ["dritte", "", "vierte"]}), tmp_path / "c.parquet")
    docs = list(file_texts(str(tmp_path / "*.txt"))) + list(file_texts(str(tmp_path / "*.jsonl")))
    docs += list(file_texts(str(tmp_path / "*.parquet"), text_field="body"))
    assert [text for _, text in docs] == ["ein Text\nzwei Zeilen", "erste", "zweite", "dritte", "vierte"]


@pytest.mark.parametrize("name, content, message", [
    ("bad.jsonl", b'{"text": "ok"}\n{"text": \n', r"bad\.jsonl:2: not valid JSON"),
    ("field.jsonl", b'{"body": "x"}\n', r"field\.jsonl:1: no string field 'text'"),
    ("latin.txt", "Stra\u00dfe".encode("latin-1"), r"latin\.txt: invalid UTF-8 at byte 4"),
    ("doc.pdf", b"%PDF", r"doc\.pdf: unsupported file type '\.pdf'"),
])
def test_bad_files_are_named_with_the_spot(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SourceFileError, match=message):
        list(file_texts(str(tmp_path / name)))


def test_an_empty_glob_and_strict_decoding():
    with pytest.raises(SourceFileError, match="no file matches"):
        list(file_texts("/nonexistent/**/*.txt"))
    assert decode_utf8("Grüße".encode(), "x") == "Grüße"
