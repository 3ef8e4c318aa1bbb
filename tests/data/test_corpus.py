"""The corpus: deterministic, deduplicated, split by hash, capped, with clear errors on bad sources."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers import files_sources, make_text
from tokshift.core.params import from_dict
from tokshift.data.corpus import (
    CorpusConfig,
    EmptyCorpusError,
    assign_split,
    build_corpus,
    capped_texts,
    chunk_text,
    collect,
    read_corpus,
)
from tokshift.data.debian import DebianSourceError
from tokshift.data.sources import SourceFileError


def config(sources, **kw) -> CorpusConfig:
    base = {"sources": sources, "valid_fraction": 0.15, "test_fraction": 0.15, "min_doc_chars": 10}
    return from_dict(CorpusConfig, {**base, **kw}, "corpus")


def test_schema_and_splits(corpus_file):
    table = pq.read_table(corpus_file)
    assert table.column_names == ["doc_id", "lang", "source", "split", "text"]
    rows = table.to_pylist()
    assert {r["lang"] for r in rows} == {"de", "ru", "ja"}
    assert {r["split"] for r in rows} == {"train", "valid", "test"}
    assert len({r["doc_id"] for r in rows}) == len(rows)
    for r in rows:
        assert r["split"] == assign_split(r["doc_id"], 0.15, 0.15)


def test_build_is_deterministic(text_dir, tmp_path):
    cfg = config(files_sources(text_dir))
    build_corpus(cfg, tmp_path / "a.parquet")
    build_corpus(cfg, tmp_path / "b.parquet")
    assert pq.read_table(tmp_path / "a.parquet").equals(pq.read_table(tmp_path / "b.parquet"))


def test_exact_duplicates_are_removed(tmp_path):
    text = make_text("de", 5, 0)
    for i in range(3):
        (tmp_path / f"copy{i}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "other.txt").write_text(make_text("de", 5, 1), encoding="utf-8")
    cfg = config([{"kind": "files", "lang": "de", "path": str(tmp_path / "*.txt")}])
    assert sorted(t for _, _, t in collect(cfg)["de"]) == sorted([text, make_text("de", 5, 1)])


def test_byte_cap_per_language(text_dir, tmp_path):
    cfg = config(files_sources(text_dir), max_bytes_per_lang=10_000, max_bytes={"ja": 20_000}, min_heldout_docs=0)
    metrics = build_corpus(cfg, tmp_path / "c.parquet")
    for lang, cap in (("de", 10_000), ("ru", 10_000), ("ja", 20_000)):
        rows = read_corpus(tmp_path / "c.parquet", lang=lang).column("text").to_pylist()
        assert sum(len(t.encode()) for t in rows) <= cap
        assert sum(m["docs"] for m in metrics[lang].values()) == len(rows)


def test_short_heldout_splits_are_topped_up_from_beyond_the_cap(text_dir, tmp_path):
    capped = config(files_sources(text_dir), max_bytes_per_lang=10_000, min_heldout_docs=0)
    topped = config(files_sources(text_dir), max_bytes_per_lang=10_000, min_heldout_docs=6)
    build_corpus(capped, tmp_path / "a.parquet")
    metrics = build_corpus(topped, tmp_path / "b.parquet")
    for lang in ("de", "ru", "ja"):
        before = read_corpus(tmp_path / "a.parquet", lang=lang).to_pylist()
        after = read_corpus(tmp_path / "b.parquet", lang=lang).to_pylist()
        # train is untouched; every added document is held out and was not in the capped corpus at all
        assert [r for r in after if r["split"] == "train"] == [r for r in before if r["split"] == "train"]
        added = [r for r in after if r not in before]
        assert added and {r["split"] for r in added} <= {"valid", "test"}
        assert {r["doc_id"] for r in added}.isdisjoint({r["doc_id"] for r in before})
        assert metrics[lang]["valid"]["docs"] >= 6 and metrics[lang]["test"]["docs"] >= 6


def test_jsonl_and_parquet_sources(tmp_path):
    docs = [make_text("ru", 4, i) for i in range(40)]
    with (tmp_path / "a.jsonl").open("w", encoding="utf-8") as f:
        for d in docs[:20]:
            f.write(json.dumps({"content": d}, ensure_ascii=False) + "\n")
    pq.write_table(pa.table({"content": docs[20:]}), tmp_path / "b.parquet")
    cfg = config([{"kind": "files", "lang": "ru", "path": str(tmp_path / "*.*"), "text_field": "content"}],
                 valid_fraction=0.2, test_fraction=0.2)
    build_corpus(cfg, tmp_path / "c.parquet")
    rows = pq.read_table(tmp_path / "c.parquet").to_pylist()
    assert sorted(r["text"] for r in rows) == sorted(docs)


def test_long_documents_are_chunked_at_paragraphs():
    text = "\n\n".join(f"Absatz {i} " + "wort " * 40 for i in range(50))
    pieces = chunk_text(text, 1024)
    assert len(pieces) > 5 and all(len(p.encode()) <= 1024 for p in pieces)
    assert " ".join(pieces).split() == text.split()


def test_invalid_utf8_names_file_and_offset(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("Grüße aus Köln".encode("latin-1"))
    cfg = config([{"kind": "files", "lang": "de", "path": str(tmp_path / "*.txt")}])
    with pytest.raises(SourceFileError, match=r"latin1\.txt: invalid UTF-8 at byte 2.*iconv"):
        build_corpus(cfg, tmp_path / "c.parquet")


def test_empty_after_filtering(tmp_path):
    (tmp_path / "english.txt").write_text("This is English, not Russian.\n" * 20, encoding="utf-8")
    cfg = config([{"kind": "files", "lang": "ru", "path": str(tmp_path / "*.txt")}])
    with pytest.raises(EmptyCorpusError, match=r"corpus\.sources\[0\] \(files, lang ru\) gave no documents"):
        build_corpus(cfg, tmp_path / "c.parquet")


def test_missing_files_glob(tmp_path):
    cfg = config([{"kind": "files", "lang": "de", "path": str(tmp_path / "nothing" / "*.txt")}])
    with pytest.raises(SourceFileError, match="no file matches"):
        build_corpus(cfg, tmp_path / "c.parquet")


def test_failed_build_keeps_the_previous_output(text_dir, tmp_path):
    out = tmp_path / "c.parquet"
    build_corpus(config(files_sources(text_dir)), out)
    before = out.read_bytes()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.txt").write_bytes(b"\xff\xfe broken")
    broken = files_sources(text_dir) + [{"kind": "files", "lang": "de", "path": str(tmp_path / "bad" / "*.txt")}]
    with pytest.raises(SourceFileError):
        build_corpus(config(broken), out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_hf_source_reads_a_local_dataset_folder(tmp_path, monkeypatch):
    """The `hf` kind goes through `datasets.load_dataset`; a local folder exercises it offline."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = tmp_path / "dataset"
    data.mkdir()
    docs = [make_text("ru", 3, i) for i in range(30)]
    with (data / "train.jsonl").open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"body": d}, ensure_ascii=False) + "\n")
    cfg = config([{"kind": "hf", "lang": "ru", "path": str(data), "text_field": "body", "max_docs": 25}])
    got = [t for _, _, t in collect(cfg)["ru"]]
    assert got == docs[:25]


def test_without_apt_get_the_error_names_other_sources(tmp_path, monkeypatch):
    monkeypatch.setattr("tokshift.data.debian.shutil.which", lambda name: None)
    cfg = config([{"kind": "debian", "lang": "de", "packages": ["manpages-de"]}], raw_dir=str(tmp_path))
    with pytest.raises(DebianSourceError, match=r"apt-get is not available.*`files` source.*`hf` source"):
        build_corpus(cfg, tmp_path / "c.parquet")


def test_capped_texts_cut_at_a_line():
    docs = ["a" * 50 + "\n" + "b" * 50, "c" * 10]
    assert capped_texts(docs, 1000) == docs
    assert capped_texts(docs, 70) == ["a" * 50]
    assert sum(len(t.encode()) for t in capped_texts(["ä\n" * 100], 51)) <= 51
