"""Evaluation samples: seeded, every language, spread over documents, leaked chunks dropped."""

from __future__ import annotations

import random

import pyarrow.parquet as pq
import pytest

from tests.helpers import files_sources
from tokshift.core.errors import InputError, MissingFileError
from tokshift.core.params import from_dict
from tokshift.data.corpus import CorpusConfig, assign_split, build_corpus, doc_id, read_corpus
from tokshift.data.samples import (
    SampleConfig,
    build_samples,
    draw,
    paragraph_chunks,
    pieces,
    sample_texts,
    valid_texts,
)

SMALL = {"langs": ["de", "ru", "ja"], "valid_bytes": 2000, "test_bytes": 3000, "chunk_bytes": 300,
         "min_chunk_bytes": 60}


def test_chunks_are_cut_at_paragraphs_and_packed():
    paras = ["a" * 400, "b" * 400, "c" * 400, "d" * 50]
    assert paragraph_chunks("\n\n".join(paras), 1000, 100) == ["a" * 400 + "\n\n" + "b" * 400,
                                                               "c" * 400 + "\n\n" + "d" * 50]


def test_long_paragraphs_are_cut_at_lines_then_spaces():
    line = " ".join(["wort"] * 100)  # 499 bytes
    out = pieces(f"{line}\n{line}", 200)
    assert all(len(p.encode()) <= 200 for p in out)
    assert " ".join(out).split() == (line + " " + line).split()  # nothing lost, words never cut


def test_multibyte_text_is_never_cut_inside_a_character():
    out = pieces("語" * 500, 100)
    assert "".join(out) == "語" * 500 and all(len(p.encode()) <= 100 for p in out)


def test_draw_goes_round_robin_over_documents():
    docs = {f"d{i}": [(j, "x" * 100) for j in range(5)] for i in range(10)}
    drawn = draw(docs, 1000, random.Random(0))
    assert len(drawn) == 10 and len({d for d, _, _ in drawn}) == 10  # one chunk from each document first
    drawn = draw(docs, 1500, random.Random(0))
    assert len({d for d, _, _ in drawn}) == 10 and len(drawn) == 15
    # a larger budget continues the same draw: a smaller sample is a prefix of a larger one
    assert draw(docs, 3000, random.Random(0))[:15] == drawn


@pytest.fixture(scope="module")
def samples(corpus_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("samples") / "samples.parquet"
    return out, build_samples(corpus_file, out, SampleConfig(**SMALL))


def test_every_language_and_split_is_sampled_from_many_documents(samples, corpus_file):
    out, metrics = samples
    table = pq.read_table(out)
    assert table.column_names == ["lang", "split", "doc_id", "chunk", "draw", "text"]
    for lang in SMALL["langs"]:
        for split in ("valid", "test"):
            rows = [r for r in table.to_pylist() if r["lang"] == lang and r["split"] == split]
            assert sum(len(r["text"].encode()) for r in rows) >= SMALL[f"{split}_bytes"]
            texts = dict(zip(*read_corpus(corpus_file, split=split, lang=lang).select(["doc_id", "text"])
                             .to_pydict().values(), strict=True))
            docs = {r["doc_id"] for r in rows}
            assert docs <= set(texts) and len(docs) == metrics[lang][split]["sampled_docs"]
            assert len(docs) >= min(len(texts), len(rows))  # no document twice before every one once
            for r in rows:  # every chunk is text of its document
                assert all(part in texts[r["doc_id"]] for part in r["text"].split("\n\n"))


def test_samples_are_seeded(samples, corpus_file, tmp_path):
    out, _ = samples
    build_samples(corpus_file, tmp_path / "again.parquet", SampleConfig(**SMALL))
    assert pq.read_table(out).equals(pq.read_table(tmp_path / "again.parquet"))
    build_samples(corpus_file, tmp_path / "other.parquet", SampleConfig(**SMALL, seed=1))
    assert not pq.read_table(out).equals(pq.read_table(tmp_path / "other.parquet"))


def test_a_planted_near_duplicate_of_train_text_is_dropped(text_dir, tmp_path):
    # find a test document, then plant a lightly edited copy of a train document under a name that hashes to test
    base = {"sources": files_sources(text_dir), "valid_fraction": 0.15, "test_fraction": 0.15, "min_doc_chars": 10}
    build_corpus(from_dict(CorpusConfig, base, "corpus"), tmp_path / "c.parquet")
    train = read_corpus(tmp_path / "c.parquet", split="train", lang="de").column("text").to_pylist()
    planted_dir = tmp_path / "planted"
    planted_dir.mkdir()
    copy = train[0].replace(".", "!", 1)  # one character changed: no longer an exact duplicate
    for i in range(60):
        candidate = f"{copy}\nzusatz{i}."
        if assign_split(doc_id(candidate), 0.15, 0.15) == "test":
            (planted_dir / "planted.txt").write_text(candidate, encoding="utf-8")
            break
    sources = [*base["sources"], {"kind": "files", "lang": "de", "path": str(planted_dir / "*.txt")}]
    build_corpus(from_dict(CorpusConfig, {**base, "sources": sources}, "corpus"), tmp_path / "p.parquet")
    test_texts = read_corpus(tmp_path / "p.parquet", split="test", lang="de").column("text").to_pylist()
    assert candidate in test_texts
    cfg = SampleConfig(**{**SMALL, "chunk_bytes": 5000, "test_bytes": 10 ** 6})
    metrics = build_samples(tmp_path / "p.parquet", tmp_path / "s.parquet", cfg)
    sampled = sample_texts(tmp_path / "s.parquet", "test", "de", "test")
    assert candidate not in sampled
    assert metrics["de"]["test"]["leaked_chunks"] == 1
    assert len(sampled) == len(test_texts) - 1  # everything else is kept


def test_valid_texts_read_the_sample_prefix_or_the_corpus(samples, corpus_file):
    out, _ = samples
    head = valid_texts(corpus_file, out, "de", 500, "x")
    assert head == sample_texts(out, "valid", "de", "x")[:len(head)]
    assert sum(len(t.encode()) for t in head[:-1]) < 500
    first = read_corpus(corpus_file, split="valid", lang="de").sort_by("doc_id").column("text")[0].as_py()
    assert first.startswith(valid_texts(corpus_file, None, "de", 500, "x")[0])  # no sample: the first documents


def test_missing_language_and_missing_file_are_named(samples, corpus_file, tmp_path):
    with pytest.raises(InputError, match="samples.langs"):
        build_samples(corpus_file, tmp_path / "x.parquet", SampleConfig(**{**SMALL, "langs": ["de", "ko"]}))
    assert not (tmp_path / "x.parquet").exists()
    with pytest.raises(MissingFileError, match="dvc repro samples"):
        sample_texts(tmp_path / "none.parquet", "test", "de", "x")
    with pytest.raises(InputError, match="evaluate.langs"):
        sample_texts(samples[0], "test", "zh", "evaluate.langs")


def test_config_checks_name_the_field():
    with pytest.raises(ValueError, match="chunk_bytes"):
        SampleConfig(chunk_bytes=100, min_chunk_bytes=200)
    with pytest.raises(ValueError, match="test_bytes"):
        SampleConfig(test_bytes=0)


