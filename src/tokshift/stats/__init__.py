"""Token statistics: every tokenizer on the held-out text, as Parquet you query with SQL.

- tokens.py: per-document and per-token counts, written hive-partitioned (tokenizer=/lang=).
- sql.py: an in-memory DuckDB with views (fertility, compression, vocab_usage) over them.
"""
