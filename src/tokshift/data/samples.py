"""Evaluation samples: paragraph-aligned chunks drawn with a fixed seed from every document of a held-out split.

Every document of a language's valid or test split is cut into chunks at blank lines (then lines, then
spaces) of at most `chunk_bytes`; chunks that are near-duplicates of train text are dropped
(data/leakage.py); then chunks are drawn round-robin over the documents in a seeded order, one per
document per round, until the language's byte budget is reached. So a sample of 20 KB covers 40
or more documents with ~400-byte chunks rather than the first one or two, and any prefix of the draw order is
itself spread over documents (the training curves read such a prefix). Output: one Parquet file
(`lang, split, doc_id, chunk, draw, text`) that every evaluating stage reads. Leaves out: stratifying
by source package (help pages vs man pages are drawn in proportion to their documents).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tokshift.core.atomic import atomic_file
from tokshift.core.errors import CorruptFileError, InputError, MissingFileError
from tokshift.core.params import check
from tokshift.data.corpus import capped_texts, read_corpus, split_texts
from tokshift.data.languages import check_language
from tokshift.data.leakage import LeakageConfig, TrainShingles

SCHEMA = pa.schema([("lang", pa.string()), ("split", pa.string()), ("doc_id", pa.string()), ("chunk", pa.int32()),
                    ("draw", pa.int32()), ("text", pa.string())])
HELDOUT = ("valid", "test")


@dataclass
class SampleConfig:
    langs: list[str] = field(default_factory=lambda: ["en", "de", "fr", "es", "ru", "el", "ja", "zh", "ko", "code"])
    """Languages sampled (each needs valid and test documents in the corpus)."""
    valid_bytes: int = 20_000
    """UTF-8 bytes drawn per language from the valid split (whole chunks; the last one may pass it)."""
    test_bytes: int = 20_000
    """UTF-8 bytes drawn per language from the test split."""
    chunk_bytes: int = 500
    """Chunks are cut at paragraph, then line, then word boundaries into pieces of at most this many bytes."""
    min_chunk_bytes: int = 200
    """A shorter piece joins the chunk before it; a document shorter than this gives no chunk."""
    leakage: LeakageConfig = field(default_factory=LeakageConfig)
    """Near-duplicate check against the train split (data/leakage.py)."""
    seed: int = 0
    """Seed of the draw (document order, chunk order within a document)."""

    def __post_init__(self) -> None:
        check(bool(self.langs), "langs", "must name at least one language")
        for lang in self.langs:
            check_language(lang, "samples.langs")
        for name in ("valid_bytes", "test_bytes", "min_chunk_bytes"):
            check(getattr(self, name) > 0, name, f"must be > 0, got {getattr(self, name)}")
        check(self.chunk_bytes > self.min_chunk_bytes, "chunk_bytes",
              f"must be > min_chunk_bytes ({self.min_chunk_bytes}), got {self.chunk_bytes}")

    def budget(self, split: str) -> int:
        return self.valid_bytes if split == "valid" else self.test_bytes


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def pieces(text: str, max_bytes: int) -> list[str]:
    """The text cut at blank lines; a paragraph over max_bytes at line ends; a line over it at spaces (or chars)."""
    out = []
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if size(para) <= max_bytes:
            out.append(para)
            continue
        for line in para.split("\n"):
            while size(line) > max_bytes:
                head = line.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
                cut = head.rfind(" ") if " " in head[1:] else len(head)
                out.append(line[:cut])
                line = line[cut:].lstrip()
            out.append(line)
    return [p for p in out if p.strip()]


def paragraph_chunks(text: str, max_bytes: int, min_bytes: int) -> list[str]:
    """Pieces packed greedily into chunks of at most max_bytes; a piece under min_bytes at the end joins the last.

    Example: paragraphs of 400, 400, 400 and 50 bytes at max 1000 -> [400+400, 400+50].
    """
    chunks: list[str] = []
    cur = ""
    for piece in pieces(text, max_bytes):
        joined = f"{cur}\n\n{piece}" if cur else piece
        if cur and size(joined) > max_bytes:
            chunks.append(cur)
            cur = piece
        else:
            cur = joined
    if cur:
        if size(cur) < min_bytes and chunks:
            chunks[-1] = f"{chunks[-1]}\n\n{cur}"
        else:
            chunks.append(cur)
    return [c for c in chunks if size(c) >= min_bytes]


def draw(docs: dict[str, list[tuple[int, str]]], budget: int, rng: random.Random) -> list[tuple[str, int, str]]:
    """[(doc_id, chunk index, text)] drawn round-robin over documents in a seeded order until `budget` bytes."""
    order = sorted(docs)
    rng.shuffle(order)
    queues = {d: rng.sample(docs[d], len(docs[d])) for d in order}
    out, used, rnd = [], 0, 0
    while used < budget and any(len(queues[d]) > rnd for d in order):
        for d in order:
            if used >= budget:
                break
            if len(queues[d]) > rnd:
                index, text = queues[d][rnd]
                out.append((d, index, text))
                used += size(text)
        rnd += 1
    return out


def build_samples(corpus: str | Path, out_file: str | Path, cfg: SampleConfig) -> dict:
    """Write the sample Parquet atomically; metrics {lang: {split: {docs, chunks, leaked, ...}}}."""
    rows: dict[str, list] = {name: [] for name in SCHEMA.names}
    metrics: dict = {}
    for lang in cfg.langs:
        train = TrainShingles(read_corpus(corpus, split="train", lang=lang, columns=["text"]).column("text")
                              .to_pylist(), cfg.leakage.ngram)
        metrics[lang] = {}
        for split in HELDOUT:
            table = read_corpus(corpus, split=split, lang=lang, columns=["doc_id", "text"]).sort_by("doc_id")
            if table.num_rows == 0:
                raise InputError(f"{corpus}: no {split} documents for '{lang}'; remove it from params.yaml: "
                                 "samples.langs or rebuild the corpus with more text for it")
            docs: dict[str, list[tuple[int, str]]] = {}
            n_chunks = leaked = 0
            containment = 0.0
            for did, text in zip(table.column("doc_id").to_pylist(), table.column("text").to_pylist(), strict=True):
                for i, chunk in enumerate(paragraph_chunks(text, cfg.chunk_bytes, cfg.min_chunk_bytes)):
                    share = train.containment(chunk)
                    n_chunks, containment = n_chunks + 1, containment + share
                    if share >= cfg.leakage.threshold:
                        leaked += 1
                    else:
                        docs.setdefault(did, []).append((i, chunk))
            drawn = draw(docs, cfg.budget(split), random.Random(f"{cfg.seed}:{lang}:{split}"))
            for k, (did, index, text) in enumerate(drawn):
                for key, value in zip(SCHEMA.names, (lang, split, did, index, k, text), strict=True):
                    rows[key].append(value)
            metrics[lang][split] = {
                "docs_in_split": table.num_rows, "chunks": n_chunks, "leaked_chunks": leaked,
                "leaked_share": round(leaked / max(n_chunks, 1), 4),
                "mean_containment": round(containment / max(n_chunks, 1), 4),
                "sampled_chunks": len(drawn), "sampled_docs": len({d for d, _, _ in drawn}),
                "sampled_bytes": sum(size(t) for _, _, t in drawn)}
            if not drawn:
                raise InputError(f"{corpus}: every {split} chunk of '{lang}' is shorter than samples.min_chunk_bytes "
                                 f"({cfg.min_chunk_bytes}) or leaked from train; lower it or samples.leakage.threshold")
    with atomic_file(out_file) as tmp:
        pq.write_table(pa.table(rows, schema=SCHEMA), tmp, compression="zstd")
    return metrics


def read_samples(path: str | Path, split: str | None = None, lang: str | None = None) -> pa.Table:
    """Rows of the sample Parquet (optionally one split and/or language) in draw order."""
    if not Path(path).is_file():
        raise MissingFileError(f"{path}: evaluation sample not found; build it with `dvc repro samples`")
    filters = [(k, "=", v) for k, v in (("split", split), ("lang", lang)) if v is not None]
    try:
        table = pq.read_table(path, filters=filters or None)
    except pa.ArrowInvalid as err:
        raise CorruptFileError(f"{path}: not a sample Parquet file ({str(err)[:120]}); rebuild it with "
                               "`dvc repro samples`") from None
    return table.sort_by([("lang", "ascending"), ("split", "ascending"), ("draw", "ascending")])


def prefix(rows: list[dict], max_bytes: int) -> list[dict]:
    """The first rows whose texts reach max_bytes UTF-8 bytes (the last may pass it); 0: all rows."""
    out, used = [], 0
    for row in rows:
        if max_bytes and used >= max_bytes:
            break
        out.append(row)
        used += size(row["text"])
    return out


def sample_chunks(path: str | Path, split: str, lang: str, field: str, max_bytes: int = 0) -> list[dict]:
    """Chunks ({doc_id, chunk, text}) of one split and language in draw order, the first up to `max_bytes` (0: all);
    none is an error naming the params.yaml `field`."""
    rows = read_samples(path, split, lang).select(["doc_id", "chunk", "text"]).to_pylist()
    if not rows:
        raise InputError(f"{path}: no {split} sample for language '{lang}'; add it to params.yaml: samples.langs "
                         f"or fix {field}")
    return prefix(rows, max_bytes)


def sample_texts(path: str | Path, split: str, lang: str, field: str, max_bytes: int = 0) -> list[str]:
    """The texts of sample_chunks."""
    return [row["text"] for row in sample_chunks(path, split, lang, field, max_bytes)]


def valid_texts(corpus: str | Path, samples: str | Path | None, lang: str, max_bytes: int, field: str) -> list[str]:
    """Valid text for a training curve: the sample's first chunks (spread over documents) when a sample is given,
    else the corpus's first valid documents (for a corpus without a sample)."""
    if samples is not None:
        return sample_texts(samples, "valid", lang, field, max_bytes)
    return capped_texts(split_texts(corpus, "valid", lang, field), max_bytes)
