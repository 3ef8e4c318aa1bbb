"""SQL over token statistics: an in-memory DuckDB with views over the Parquet files, nothing written.

Views: `doc_stats`, `token_freq` (the raw tables), `fertility` (tokens per word and per char),
`compression` (bytes and chars per token), `vocab_usage` (share of the vocabulary seen). Over the
warehouse (`--warehouse`) every view also carries `run_id`, and `runs` lists the pipeline runs.
Only Parquet is shared, so any DuckDB version (or pyarrow, or pandas) reads the same files.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from tokshift.core.errors import MissingFileError, TokshiftError

DERIVED_VIEWS = {
    "fertility": """
        SELECT {keys} tokenizer, lang, sum(n_tokens) / greatest(sum(n_words), 1) AS tokens_per_word,
               sum(n_tokens) / greatest(sum(n_chars), 1) AS tokens_per_char, sum(n_tokens)::BIGINT AS n_tokens,
               sum(n_words)::BIGINT AS n_words, count(*) AS n_docs
        FROM doc_stats GROUP BY ALL""",
    "compression": """
        SELECT {keys} tokenizer, lang, sum(n_bytes) / greatest(sum(n_tokens), 1) AS bytes_per_token,
               sum(n_chars) / greatest(sum(n_tokens), 1) AS chars_per_token, sum(n_bytes)::BIGINT AS n_bytes,
               sum(n_tokens)::BIGINT AS n_tokens
        FROM doc_stats GROUP BY ALL""",
    "vocab_usage": """
        SELECT {keys} tokenizer, lang, count(*) AS vocab_size, count_if(count > 0)::BIGINT AS used,
               count_if(count = 0)::BIGINT AS dead, count_if(count > 0) / count(*) AS used_share
        FROM token_freq GROUP BY ALL""",
}


class QueryError(TokshiftError, ValueError):
    """A SQL query DuckDB rejects (syntax, unknown view or column); the message is DuckDB's."""


def stats_glob(root: Path, table: str, warehouse: bool) -> str:
    """Parquet glob of one table: `<root>/<table>/tokenizer=*/lang=*/*.parquet` (plus run_id=* level)."""
    prefix = "run_id=*/" if warehouse else ""
    return str(root / f"{prefix}{table}" / "*" / "*" / "*.parquet")


def connect(root: str | Path = "storage/stats", warehouse: bool = False) -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with the views above over the statistics under `root`."""
    root = Path(root)
    if not any(root.glob(("run_id=*/" if warehouse else "") + "doc_stats")):
        what = "the flow has not published a run yet" if warehouse else "run `dvc repro stats` first"
        raise MissingFileError(f"{root}: no token statistics found; {what}")
    con = duckdb.connect()
    for table in ("doc_stats", "token_freq"):
        glob = stats_glob(root, table, warehouse).replace("'", "''")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")
    keys = "run_id," if warehouse else ""
    for name, query in DERIVED_VIEWS.items():
        con.execute(f"CREATE VIEW {name} AS {query.format(keys=keys)}")
    if warehouse:
        runs = str(root / "run_id=*" / "run.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW runs AS SELECT * FROM read_parquet('{runs}')")
    return con
