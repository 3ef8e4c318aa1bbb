"""Token statistics match the tokenizer's own counts and answer SQL, from tokshift and the duckdb CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tokshift.cli import main as cli_main
from tokshift.data.corpus import read_corpus
from tokshift.stats.sql import connect
from tokshift.stats.tokens import summary
from tokshift.tokenization.training import load_tokenizer


def test_doc_stats_match_reference_counts(stats, corpus_file, tokenizers_dir):
    _, doc_stats, _ = stats
    tok = load_tokenizer(tokenizers_dir / "de-bpe-400")
    rows = {(r["tokenizer"], r["doc_id"]): r for r in doc_stats.to_pylist()}
    docs = read_corpus(corpus_file, lang="de").to_pylist()
    held_out = [d for d in docs if d["split"] in ("valid", "test")]
    assert held_out and all(d["split"] != "train" for d in held_out)
    for d in held_out:
        r = rows[("de-bpe-400", d["doc_id"])]
        assert r["n_tokens"] == len(tok.encode(d["text"], add_special_tokens=False).ids)
        assert (r["n_bytes"], r["n_chars"], r["n_words"]) == (len(d["text"].encode()), len(d["text"]),
                                                              len(d["text"].split()))
        assert r["n_unk"] == 0 and r["split"] == d["split"] and r["lang"] == "de"
    splits = read_corpus(corpus_file).column("split")
    assert len(doc_stats) == 2 * pc.sum(pc.is_in(splits, pa.array(["valid", "test"]))).as_py()


def test_token_freq_counts_and_dead_vocabulary(stats, corpus_file, tokenizers_dir):
    _, _, token_freq = stats
    tok = load_tokenizer(tokenizers_dir / "ja-unigram-400")
    texts = [d["text"] for d in read_corpus(corpus_file, lang="ja").to_pylist() if d["split"] != "train"]
    encoded = [tok.encode(t, add_special_tokens=False).ids for t in texts]
    count = Counter(i for ids in encoded for i in ids)
    doc_count = Counter(i for ids in encoded for i in set(ids))
    rows = [r for r in token_freq.to_pylist() if r["tokenizer"] == "ja-unigram-400" and r["lang"] == "ja"]
    assert len(rows) == 400  # every vocabulary entry, used or not
    for r in rows:
        assert (r["count"], r["doc_count"]) == (count[r["token_id"]], doc_count[r["token_id"]])
        assert r["token"] == tok.id_to_token(r["token_id"])
    assert any(r["count"] == 0 for r in rows)  # special tokens never occur in text


def test_hive_partitioned_zstd_layout(stats):
    out, _, _ = stats
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet"))
    assert "doc_stats/tokenizer=de-bpe-400/lang=ja/part-0.parquet" in files
    assert "token_freq/tokenizer=ja-unigram-400/lang=ru/part-0.parquet" in files
    meta = pq.ParquetFile(out / files[0]).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_views_answer_sql(stats):
    out, doc_stats, _ = stats
    con = connect(out)
    fert = dict(((t, lang), v) for t, lang, v in con.sql(
        "SELECT tokenizer, lang, tokens_per_word FROM fertility").fetchall())
    assert fert[("de-bpe-400", "de")] < fert[("ja-unigram-400", "de")]
    [(n,)] = con.sql("SELECT count(*) FROM doc_stats").fetchall()
    assert n == len(doc_stats)
    [(vocab, used)] = con.sql("SELECT vocab_size, used FROM vocab_usage "
                              "WHERE tokenizer = 'de-bpe-400' AND lang = 'de'").fetchall()
    assert vocab == 400 and 0 < used < 400
    [(bpt,)] = con.sql("SELECT bytes_per_token FROM compression WHERE tokenizer='de-bpe-400' AND lang='de'"
                       ).fetchall()
    assert bpt == pytest.approx(summary(*stats[1:])["de-bpe-400"]["de"]["bytes_per_token"], abs=1e-4)


def test_cli_sql(stats, capsys):
    out, _, _ = stats
    assert cli_main(["sql", "--stats", str(out), "--format", "json",
                     "SELECT tokenizer, lang FROM fertility WHERE lang = 'ru' ORDER BY tokenizer"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == [{"tokenizer": "de-bpe-400", "lang": "ru"}, {"tokenizer": "ja-unigram-400", "lang": "ru"}]
    assert cli_main(["sql", "--stats", str(out), "--format", "csv",
                     "SELECT lang, n_docs FROM fertility WHERE tokenizer = 'de-bpe-400' ORDER BY lang"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == '"lang","n_docs"' and [line.split(",")[0] for line in lines[1:]] == ['"de"', '"ja"', '"ru"']
    assert cli_main(["sql", "--stats", str(out), "SELECT * FROM no_such_view"]) == 2
    assert "no_such_view" in capsys.readouterr().err
    assert cli_main(["sql", "--stats", str(out / "missing"), "SELECT 1"]) == 2
    assert "no token statistics found" in capsys.readouterr().err


def test_duckdb_cli_reads_the_same_files(stats):
    """The duckdb CLI (an older DuckDB than the Python module) reads the same Parquet files."""
    out, doc_stats, _ = stats
    duckdb_cli = str(Path(sys.executable).parent / "duckdb")
    query = (f"SELECT count(*) FROM read_parquet('{out}/doc_stats/*/*/*.parquet', hive_partitioning=true) "
             f"WHERE tokenizer = 'de-bpe-400'")
    proc = subprocess.run([duckdb_cli, "-csv", "-noheader", "-c", query], capture_output=True, text=True,
                          check=True)
    assert int(proc.stdout.strip()) == len(doc_stats) // 2
