"""The multilingual corpus: where text comes from, which lines are kept, how it is split.

- sources.py: user-named sources (local txt/jsonl/parquet files, Hugging Face datasets).
- debian.py: Debian packages fetched with `apt-get download` and unpacked, cached.
- extract.py: documents from LibreOffice help HTML, man pages and Python sources.
- languages.py: known languages, their scripts, the on-script line filter.
- corpus.py: filter, deduplicate, cap and split into the corpus Parquet; read splits back, capped in bytes.
"""
