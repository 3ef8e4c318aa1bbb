"""Token statistics: tokenize held-out text with every tokenizer and write hive-partitioned Parquet.

Two tables, partitioned by `tokenizer=<name>/lang=<lang>/`, zstd-compressed:
- `doc_stats`: tokenizer, lang, split, doc_id, n_bytes, n_chars, n_words, n_tokens, n_unk
- `token_freq`: tokenizer, lang, token_id, token, count, doc_count (every vocabulary entry, zero
  counts included, so dead vocabulary is visible)
`n_words` counts whitespace-separated words, so fertility is not meaningful for ja/zh (use
chars per token there). The whole output folder is replaced atomically.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from tokenizers import Tokenizer

from tokshift.core.atomic import atomic_dir
from tokshift.core.cluster import FORMS, fan_out, is_cluster_spec
from tokshift.core.params import check
from tokshift.data.corpus import SPLITS, read_corpus
from tokshift.tokenization.training import load_tokenizer

log = logging.getLogger(__name__)


@dataclass
class StatsConfig:
    splits: list[str] = field(default_factory=lambda: ["valid", "test"])
    """Corpus splits to tokenize."""
    tokenizers_dir: str = "storage/tokenizers"
    """Every sub-folder holding a tokenizer.json is measured, under its folder name."""
    extra_tokenizers: dict[str, str] = field(default_factory=lambda: {"original": "storage/models/base"})
    """More tokenizers by name -> folder (e.g. the base model's own tokenizer)."""
    batch_size: int = 1024
    """Documents per `encode_batch_fast` call."""
    cluster: str = "none"
    """Where the (tokenizer, language) parts run: none (here, one after the other), local:N (a Dask LocalCluster
    of N processes) or a Dask scheduler address (workers must see the same paths). Output is identical."""

    def __post_init__(self) -> None:
        check(bool(self.splits), "splits", "must name at least one split")
        for i, split in enumerate(self.splits):
            check(split in SPLITS, f"splits[{i}]", f"must be one of {SPLITS}, got '{split}'")
        check(self.batch_size > 0, "batch_size", f"must be > 0, got {self.batch_size}")
        check(is_cluster_spec(self.cluster), "cluster", f"must be {FORMS}, got '{self.cluster}'")


def find_tokenizers(cfg: StatsConfig) -> dict[str, Path]:
    """name -> tokenizer folder, from tokenizers_dir sub-folders plus extra_tokenizers."""
    root = Path(cfg.tokenizers_dir)
    found = {p.parent.name: p.parent for p in sorted(root.glob("*/tokenizer.json"))}
    found.update({name: Path(path) for name, path in cfg.extra_tokenizers.items()})
    if not found:
        raise FileNotFoundError(f"{root}: no tokenizer folders found; run the tokenizers stage first")
    return found


def encode_ids(tok: Tokenizer, texts: list[str], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of all texts, concatenated, and per-text token counts."""
    chunks = []
    for start in range(0, len(texts), batch_size):
        chunks.extend(enc.ids for enc in tok.encode_batch_fast(texts[start:start + batch_size],
                                                                 add_special_tokens=False))
    lengths = np.fromiter(map(len, chunks), dtype=np.int64, count=len(chunks))
    flat = np.fromiter(itertools.chain.from_iterable(chunks), dtype=np.int64, count=int(lengths.sum()))
    return flat, lengths


def text_columns(texts: pa.ChunkedArray) -> dict[str, pa.Array]:
    """n_bytes, n_chars, n_words per document (tokenizer-independent, computed once)."""
    return {
        "n_bytes": pc.binary_length(texts.cast(pa.binary())).cast(pa.int64()),
        "n_chars": pc.utf8_length(texts).cast(pa.int64()),
        "n_words": pa.array(np.fromiter((len(t.split()) for t in texts.to_pylist()), dtype=np.int64)),
    }


def token_counts(tok: Tokenizer, texts: list[str], batch_size: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-document n_tokens and n_unk, and per-token counts and document counts over all `texts`."""
    vocab_size = tok.get_vocab_size(with_added_tokens=True)
    ids, lengths = encode_ids(tok, texts, batch_size)
    doc_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    unk = _unk_id(tok)
    n_unk = np.bincount(doc_of[ids == unk], minlength=len(texts)) if unk is not None else np.zeros(len(texts))
    count = np.bincount(ids, minlength=vocab_size)
    # One key per (document, token) pair: distinct keys -> in how many documents each token occurs.
    pairs = np.sort(doc_of * vocab_size + ids)
    pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
    doc_count = np.bincount(pairs % vocab_size, minlength=vocab_size)
    return lengths, n_unk.astype(np.int64), count, doc_count


def _unk_id(tok: Tokenizer) -> int | None:
    unk = getattr(tok.model, "unk_token", None)
    if isinstance(unk, str):
        return tok.token_to_id(unk)
    unk_id = getattr(tok.model, "unk_id", None)  # Unigram stores the id
    return unk_id if isinstance(unk_id, int) else None


def vocabulary(tok: Tokenizer) -> list[str]:
    """Token strings by id, added tokens included."""
    tokens = [""] * tok.get_vocab_size(with_added_tokens=True)
    for token, i in tok.get_vocab(with_added_tokens=True).items():
        tokens[i] = token
    return tokens


def lang_stats(corpus_file: str, splits: list[str], lang: str, name: str, folder: str, batch_size: int
               ) -> tuple[pa.Table, pa.Table]:
    """(doc_stats, token_freq) rows of one tokenizer on one language: the unit that fans out on a cluster."""
    corpus = read_corpus(corpus_file, split=list(splits), lang=lang, columns=["doc_id", "lang", "split", "text"])
    texts = corpus.column("text").to_pylist()
    tok = load_tokenizer(folder)
    n_tokens, n_unk, count, doc_count = token_counts(tok, texts, batch_size)
    doc_stats = pa.table({"tokenizer": pa.repeat(name, len(texts)), "lang": corpus.column("lang"),
                          "split": corpus.column("split"), "doc_id": corpus.column("doc_id"),
                          **text_columns(corpus.column("text")), "n_tokens": n_tokens, "n_unk": n_unk})
    vocab = pa.array(vocabulary(tok))
    token_freq = pa.table({"tokenizer": pa.repeat(name, len(vocab)), "lang": pa.repeat(lang, len(vocab)),
                           "token_id": np.arange(len(vocab), dtype=np.int64), "token": vocab,
                           "count": count, "doc_count": doc_count})
    return doc_stats, token_freq


def stats_tasks(corpus_file: Path, cfg: StatsConfig) -> list[tuple]:
    """Arguments of lang_stats for every (tokenizer, language) of the chosen splits, tokenizer-major."""
    langs = read_corpus(corpus_file, split=list(cfg.splits), columns=["lang"]).column("lang").unique().to_pylist()
    folders = find_tokenizers(cfg)
    for folder in folders.values():
        load_tokenizer(folder)  # a missing or corrupt tokenizer is named here, before any work is sent out
    return [(str(corpus_file), list(cfg.splits), lang, name, str(folder), cfg.batch_size)
            for name, folder in folders.items() for lang in langs]


def combine_parts(parts: list[tuple[pa.Table, pa.Table]]) -> tuple[pa.Table, pa.Table]:
    """lang_stats results (in task order) -> (doc_stats, token_freq)."""
    # One contiguous chunk per column: the written files do not depend on how the parts were split or shipped.
    return (pa.concat_tables(p[0] for p in parts).combine_chunks(),
            pa.concat_tables(p[1] for p in parts).combine_chunks())


def compute_stats(corpus_file: Path, cfg: StatsConfig) -> tuple[pa.Table, pa.Table]:
    """(doc_stats, token_freq) tables for every tokenizer x language of the chosen splits, fanned out as
    cfg.cluster says; the tables are the same wherever the parts ran."""
    return combine_parts(fan_out(lang_stats, stats_tasks(corpus_file, cfg), cfg.cluster, "stats.cluster",
                                 desc="stats"))


def write_stats(doc_stats: pa.Table, token_freq: pa.Table, out_dir: Path) -> None:
    """Write both tables as hive-partitioned zstd Parquet, replacing `out_dir` atomically."""
    fmt = ds.ParquetFileFormat()
    with atomic_dir(out_dir) as tmp:
        for name, table in (("doc_stats", doc_stats), ("token_freq", token_freq)):
            # preserve_order: threaded writes otherwise shuffle rows within a partition from run to run.
            ds.write_dataset(table, tmp / name, format=fmt, partitioning=["tokenizer", "lang"],
                             partitioning_flavor="hive", basename_template="part-{i}.parquet",
                             file_options=fmt.make_write_options(compression="zstd"), preserve_order=True)


def summary(doc_stats: pa.Table, token_freq: pa.Table) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics {tokenizer: {lang: {tokens_per_word, bytes_per_token, unk_rate, vocab_used}}}."""
    import duckdb

    con = duckdb.connect()
    con.register("doc_stats", doc_stats)
    con.register("token_freq", token_freq)
    rows = con.sql("""
        SELECT d.tokenizer, d.lang,
               sum(n_tokens) / greatest(sum(n_words), 1) AS tokens_per_word,
               sum(n_bytes) / greatest(sum(n_tokens), 1) AS bytes_per_token,
               sum(n_unk) / greatest(sum(n_tokens), 1) AS unk_rate,
               any_value(v.used) AS vocab_used
        FROM doc_stats d JOIN (SELECT tokenizer, lang, avg((count > 0)::INT) AS used
                               FROM token_freq GROUP BY ALL) v USING (tokenizer, lang)
        GROUP BY ALL ORDER BY ALL""").fetchall()
    out: dict[str, dict[str, dict[str, float]]] = {}
    for tok, lang, tpw, bpt, unk, used in rows:
        out.setdefault(tok, {})[lang] = {"tokens_per_word": round(tpw, 4), "bytes_per_token": round(bpt, 4),
                                         "unk_rate": round(unk, 6), "vocab_used": round(used, 4)}
    return out
