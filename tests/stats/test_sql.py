"""The DuckDB views over token statistics answer SQL."""

from __future__ import annotations

import pytest

from tokshift.stats.sql import QueryError, connect, query
from tokshift.stats.tokens import summary


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


@pytest.mark.parametrize("statement, message", [
    ("COPY (SELECT 1) TO '{root}/leak.csv'", "only SELECT and EXPLAIN"),
    ("CREATE TABLE t AS SELECT 1", "only SELECT and EXPLAIN"),
    ("SELECT * FROM read_csv('/etc/passwd')", "Permission Error"),
    ("SELECT * FROM read_parquet('{outside}/*.parquet')", "Permission Error"),
])
def test_ad_hoc_sql_is_read_only_and_sees_only_the_statistics(stats, tmp_path, statement, message):
    out, _, _ = stats
    con = connect(out)
    with pytest.raises(QueryError, match=message):
        query(con, statement.format(root=out, outside=tmp_path)).fetchall()
    assert not (out / "leak.csv").exists()
    with pytest.raises(QueryError, match="configuration"):
        query(con, "SET enable_external_access = true", unrestricted=True)


def test_unrestricted_lifts_both(stats, tmp_path):
    out, _, _ = stats
    con = connect(out, unrestricted=True)
    query(con, f"COPY (SELECT count(*) AS n FROM doc_stats) TO '{tmp_path}/n.csv'", unrestricted=True)
    assert (tmp_path / "n.csv").read_text().splitlines()[0] == "n"


def test_the_evaluation_sample_and_its_scores_are_views(stats, samples_file, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    out, _, _ = stats
    scores = tmp_path / "chunks.parquet"
    pq.write_table(pa.Table.from_pylist([{"model": "original/original", "lang": "de", "doc_id": "a", "chunk": 0,
                                          "bits": 80.0, "bytes": 100, "tokens": 20}]), scores)
    con = connect(out, samples=samples_file, scores=scores)
    per_lang = dict(con.sql("SELECT lang, count(DISTINCT doc_id) FROM samples WHERE split = 'test' GROUP BY lang"
                            ).fetchall())
    assert set(per_lang) == {"de", "ru", "ja"} and min(per_lang.values()) > 1
    assert con.sql("SELECT sum(bits) / sum(bytes) FROM chunk_scores").fetchall() == [(0.8,)]
    with pytest.raises(QueryError, match="samples"):  # without the file there is no such view
        query(connect(out, samples=None, scores=None), "SELECT * FROM samples").fetchall()


def test_how_tokenizers_and_decompounders_cut_compounds_are_views(stats, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    out, _, _ = stats
    (tmp_path / "eval").mkdir()
    (tmp_path / "dec").mkdir()
    splits, predictions = tmp_path / "eval" / "splits.parquet", tmp_path / "dec" / "predictions.parquet"
    cuts = (("a", "Haus|tür", 2, 1), ("b", "Haustür", 1, 0))
    pq.write_table(pa.Table.from_pylist([
        {"tokenizer": t, "word": "haustür", "form": "Haustür", "compound": True, "gold": "haus|tür", "pieces": p,
         "n_tokens": n, "boundaries": 1, "aligned": a} for t, p, n, a in cuts]), splits)
    pq.write_table(pa.Table.from_pylist([{"method": "char", "word": "haustür", "form": "Haustür", "compound": True,
                                          "gold": "haus|tür", "predicted": "haus|tür", "correct": True}]), predictions)
    con = connect(out, compounds=[splits, predictions])
    rows = con.sql("SELECT tokenizer, aligned FROM compound_splits ORDER BY tokenizer").fetchall()
    assert rows == [("a", 1), ("b", 0)]
    assert con.sql("SELECT count_if(correct) FROM decompositions").fetchall() == [(1,)]
