"""Token statistics match reference counts and land in hive-partitioned Parquet."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tokshift.data.corpus import read_corpus
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


def test_duckdb_cli_reads_the_same_files(stats):
    """The duckdb CLI (an older DuckDB than the Python module) reads the same Parquet files."""
    out, doc_stats, _ = stats
    duckdb_cli = str(Path(sys.executable).parent / "duckdb")
    query = (f"SELECT count(*) FROM read_parquet('{out}/doc_stats/*/*/*.parquet', hive_partitioning=true) "
             f"WHERE tokenizer = 'de-bpe-400'")
    proc = subprocess.run([duckdb_cli, "-csv", "-noheader", "-c", query], capture_output=True, text=True,
                          check=True)
    assert int(proc.stdout.strip()) == len(doc_stats) // 2


def test_partitions_keep_the_input_row_order(tmp_path):
    import pyarrow as pa

    from tokshift.stats.tokens import write_stats

    chunks = [pa.table({"tokenizer": ["t"] * 500, "lang": [("de", "ja")[i % 2]] * 500,
                        "doc_id": [f"{i:04d}-{j:04d}" for j in range(500)]}) for i in range(64)]
    table = pa.concat_tables(chunks)  # many batches: threaded writers would interleave them
    write_stats(table, table, tmp_path / "stats")
    for lang in ("de", "ja"):
        ids = pq.read_table(tmp_path / "stats" / "doc_stats" / "tokenizer=t" / f"lang={lang}").column("doc_id")
        assert ids.to_pylist() == sorted(ids.to_pylist()), "rows stay in input order, run after run"


@pytest.mark.slow
def test_stats_stage_on_a_two_worker_cluster_equals_one_process(stats, corpus_file, tokenizers_dir, tmp_path):
    import duckdb

    from tests.stages.test_stages import run_stage, write_params

    params = write_params(tmp_path / "params.yaml", {"stats": {
        "tokenizers_dir": str(tokenizers_dir), "extra_tokenizers": {}, "batch_size": 7, "cluster": "local:2"}})
    proc = run_stage("stats.py", "--params", str(params), "--corpus", str(corpus_file), "--out", "stats",
                     "--metrics", "m.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    single, _, _ = stats
    con = duckdb.connect()
    for table in ("doc_stats", "token_freq"):
        one, two = (con.sql(f"SELECT * EXCLUDE (filename), filename FROM read_parquet('{root}/{table}/*/*/*.parquet', "
                            "hive_partitioning=true, filename=true)").fetchall()
                    for root in (single, tmp_path / "stats"))
        # row for row: same rows, same order, in files of the same names
        assert len(one) > 0 and [r[:-1] for r in one] == [r[:-1] for r in two]
        assert [r[-1].split("/stats/")[-1] for r in one] == [r[-1].split("/stats/")[-1] for r in two]
