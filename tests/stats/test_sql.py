"""The DuckDB views over token statistics answer SQL."""

from __future__ import annotations

import pytest

from tokshift.stats.sql import connect
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
