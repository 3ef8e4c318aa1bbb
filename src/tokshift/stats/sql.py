"""SQL over token statistics: an in-memory DuckDB with views over the Parquet files, nothing written.

Read-only by default: only SELECT and EXPLAIN statements run, DuckDB may open files under the
statistics folder alone (`allowed_directories` with external access off, locked), so ad-hoc SQL can
neither write files (`COPY ... TO`) nor read others (`read_csv('/etc/passwd')`). `unrestricted`
lifts both for a user who means it.

Views: `doc_stats`, `token_freq` (the raw tables), `fertility` (tokens per word and per char),
`compression` (bytes and chars per token), `vocab_usage` (share of the vocabulary seen). Over the
warehouse (`--warehouse`) every view also carries `run_id`, and `runs` lists the pipeline runs.
`mixture` (tokenizer, category, weight, tee, truth) and `mixture_validation` (mixture, category, truth,
lp, tee, random) are the data mixture inference's Parquet files, where the `mixture` stages wrote them;
`samples` (lang, split, doc_id, chunk, draw, text) is the evaluation sample every evaluating stage reads, and
`chunk_scores` (model, tokenizer, method, lang, doc_id, chunk, bits, bytes, tokens) what `evaluate` scored on it.
`compound_splits` (tokenizer, word, form, compound, gold, pieces, n_tokens, boundaries, aligned) is how each
tokenizer cuts the held-out compounds, `decompositions` (method, word, form, compound, gold, predicted, correct)
what each decompounder made of them (docs/compounds.md).
Only Parquet is shared, so any DuckDB version (or pyarrow, or pandas) reads the same files.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from duckdb import StatementType

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


READ_ONLY = (StatementType.SELECT, StatementType.EXPLAIN)


def stats_glob(root: Path, table: str, warehouse: bool) -> str:
    """Parquet glob of one table: `<root>/<table>/tokenizer=*/lang=*/*.parquet` (plus run_id=* level)."""
    prefix = "run_id=*/" if warehouse else ""
    return str(root / f"{prefix}{table}" / "*" / "*" / "*.parquet")


MIXTURE_VIEWS = {"mixture": "mixture.parquet", "mixture_validation": "validation.parquet"}
COMPOUND_VIEWS = {"compound_splits": "storage/compound_eval/splits.parquet",
                  "decompositions": "storage/decompounder/predictions.parquet"}


def connect(root: str | Path = "storage/stats", warehouse: bool = False, unrestricted: bool = False,
            mixture: str | Path | None = "storage/mixture",
            samples: str | Path | None = "storage/samples/samples.parquet",
            scores: str | Path | None = "storage/evaluate/chunks.parquet",
            compounds: list[str | Path] | None = None) -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with the views above over the statistics under `root`, the mixture files under `mixture`, the
    evaluation sample and its per-chunk scores, and the compound tables (`compounds`: splits, predictions), where
    those files exist (confined to their folders unless unrestricted)."""
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
    allowed = [str(root.resolve())]
    files = {view: Path(mixture) / name for view, name in MIXTURE_VIEWS.items() if mixture is not None}
    files.update({view: Path(path) for view, path in (("samples", samples), ("chunk_scores", scores)) if path})
    files.update({view: Path(path) for view, path in zip(COMPOUND_VIEWS, compounds or [], strict=False) if path})
    for view, path in files.items():
        if path.is_file():
            quoted = str(path).replace("'", "''")
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{quoted}')")
            allowed.append(str(path.resolve().parent))
    if not unrestricted:
        con.execute("SET allowed_directories = ?", [sorted(set(allowed))])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    return con


def query(con: duckdb.DuckDBPyConnection, sql: str, unrestricted: bool = False) -> duckdb.DuckDBPyRelation | None:
    """Run `sql`; read-only statements only unless unrestricted. DuckDB's errors become a QueryError."""
    try:
        if not unrestricted:
            kinds = [s.type for s in con.extract_statements(sql)]
            if any(k not in READ_ONLY for k in kinds):
                raise QueryError(f"only SELECT and EXPLAIN run on the statistics (got {[k.name for k in kinds]}); "
                                 "pass --unrestricted to run other statements")
        return con.sql(sql)
    except duckdb.Error as err:
        raise QueryError(str(err)) from None
