"""Build the multilingual corpus: gather documents from sources, filter, deduplicate, cap and split.

Sources (params.yaml: corpus.sources) come in four kinds: `debian` (the embedded default:
documentation packages fetched with apt-get), `python_stdlib` (the `code` domain), `hf` (any
Hugging Face dataset, for users with network) and `files` (local txt/jsonl/parquet globs).
Output: one Parquet file with `doc_id, lang, source, split, text`. Splits are decided by a hash of
the text, so the same document lands in the same split on every machine; a language whose valid or
test split has fewer than `min_heldout_docs` documents is topped up with documents from beyond its
byte cap (never part of train, so the train split does not change).
Leaves out: near-duplicate detection (only exact duplicates are removed).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from tokshift.core.atomic import atomic_file
from tokshift.core.cluster import FORMS, fan_out, is_cluster_spec
from tokshift.core.errors import CorruptFileError, MissingFileError, TokshiftError
from tokshift.core.params import check
from tokshift.data import debian, extract, sources
from tokshift.data.languages import check_language, filter_lines
from tokshift.data.sources import SourceConfig, embedded_sources

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
SCHEMA = pa.schema([("doc_id", pa.string()), ("lang", pa.string()), ("source", pa.string()),
                    ("split", pa.string()), ("text", pa.string())])


class EmptyCorpusError(TokshiftError, RuntimeError):
    """No documents survived filtering for a language; the message names the sources."""


@dataclass
class CorpusConfig:
    sources: list[SourceConfig] = field(default_factory=embedded_sources)
    """Where documents come from; see SourceConfig. Default: the embedded sources (embedded_sources)."""
    raw_dir: str = "storage/raw"
    """Cache of downloaded and unpacked packages."""
    valid_fraction: float = 0.05
    """Share of documents (by hash) in the valid split."""
    test_fraction: float = 0.05
    """Share of documents (by hash) in the test split."""
    max_bytes_per_lang: int = 3_000_000
    """UTF-8 bytes kept per language over all splits (documents taken in hash order)."""
    max_bytes: dict[str, int] = field(default_factory=dict)
    """Per-language overrides of max_bytes_per_lang, e.g. {ja: 5000000}."""
    max_doc_bytes: int = 32_768
    """Longer documents are cut at paragraph boundaries into pieces of at most this size."""
    min_doc_chars: int = 64
    """Documents shorter than this after filtering are dropped (menus, stubs)."""
    min_heldout_docs: int = 40
    """Valid and test splits with fewer documents are topped up with documents from beyond the language's byte cap
    (in hash order, to the smaller split first), so that evaluation samples can spread over many documents."""
    english_reference: str = "libreoffice-help-en-us"
    """Help package whose paragraphs mark untranslated text in other languages' help."""
    cluster: str = "none"
    """Where the sources are read: none (here, one after the other), local:N (a Dask LocalCluster of N processes)
    or a Dask scheduler address (workers need raw_dir on a shared filesystem and apt-get). Output is identical."""

    def __post_init__(self) -> None:
        check(bool(self.sources), "sources", "must list at least one source")
        for name in ("valid_fraction", "test_fraction"):
            value = getattr(self, name)
            check(0 < value < 1, name, f"must be in (0, 1), got {value}")
        check(self.valid_fraction + self.test_fraction < 1, "test_fraction", "plus valid_fraction must be < 1")
        check(self.max_bytes_per_lang > 0, "max_bytes_per_lang", f"must be > 0, got {self.max_bytes_per_lang}")
        for lang, cap in self.max_bytes.items():
            check_language(lang, "max_bytes")
            check(cap > 0, f"max_bytes.{lang}", f"must be > 0, got {cap}")
        check(self.max_doc_bytes >= 256, "max_doc_bytes", f"must be >= 256, got {self.max_doc_bytes}")
        check(self.min_doc_chars >= 0, "min_doc_chars", f"must be >= 0, got {self.min_doc_chars}")
        check(self.min_heldout_docs >= 0, "min_heldout_docs", f"must be >= 0, got {self.min_heldout_docs}")
        check(is_cluster_spec(self.cluster), "cluster", f"must be {FORMS}, got '{self.cluster}'")


def doc_id(text: str) -> str:
    """Stable 16-hex-digit id of a document's text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def assign_split(doc: str, valid_fraction: float, test_fraction: float) -> str:
    """Deterministic split from the document id (salted, so it is independent of the cap order)."""
    bucket = int(hashlib.sha1(f"split:{doc}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if bucket < valid_fraction:
        return "valid"
    if bucket < valid_fraction + test_fraction:
        return "test"
    return "train"


def chunk_text(text: str, max_bytes: int) -> list[str]:
    """Cut `text` at blank lines into pieces of at most max_bytes UTF-8 bytes (a longer paragraph stays whole)."""
    if len(text.encode("utf-8")) <= max_bytes:
        return [text]
    pieces, cur, size = [], [], 0
    for para in text.replace("\n\n", "\n\n\x00").split("\x00"):
        n = len(para.encode("utf-8"))
        if cur and size + n > max_bytes:
            pieces.append("".join(cur).strip())
            cur, size = [], 0
        cur.append(para)
        size += n
    if cur:
        pieces.append("".join(cur).strip())
    return [p for p in pieces if p]


def source_documents(src: SourceConfig, cfg: CorpusConfig, references: dict[str, set[str]]
                     ) -> Iterator[tuple[str, str]]:
    """(source name, raw text) for every document of one source, before filtering.

    `references` caches the English help paragraphs across sources (parsed once per run).
    """
    raw = Path(cfg.raw_dir)
    if src.kind == "debian":
        for package in src.packages:
            root = debian.fetch_package(package, raw)
            if package.startswith("libreoffice-help-"):
                reference = None
                if package != cfg.english_reference:
                    if cfg.english_reference not in references:
                        ref_root = debian.fetch_package(cfg.english_reference, raw)
                        references[cfg.english_reference] = extract.libreoffice_paragraph_set(ref_root)
                    reference = references[cfg.english_reference]
                for _, text in extract.libreoffice_help_docs(root, reference):
                    yield package, text
            else:
                for _, text in extract.man_page_docs(root):
                    yield package, text
    elif src.kind == "python_stdlib":
        for _, text in extract.python_stdlib_docs():
            yield "python-stdlib", text
    elif src.kind == "hf":
        yield from ((f"hf:{src.path}", t) for t in sources.hf_texts(src.path, src.name, src.split,
                                                                    src.text_field, src.max_docs))
    else:
        yield from sources.file_texts(src.path, src.text_field)


def source_pieces(src: SourceConfig, cfg: CorpusConfig, references: dict[str, set[str]]
                  ) -> list[tuple[str, str, str]]:
    """[(doc_id, source name, text)] of one source, filtered, chunked and deduplicated within it, in reading
    order: one task of the corpus fan-out."""
    seen: set[str] = set()
    out: list[tuple[str, str, str]] = []
    desc = f"corpus {src.lang} ({src.kind})"
    for name, text in tqdm(source_documents(src, cfg, references), desc=desc, unit="doc", disable=None):
        for piece in chunk_text(filter_lines(text, src.lang).strip(), cfg.max_doc_bytes):
            did = doc_id(piece)
            if len(piece) >= cfg.min_doc_chars and did not in seen:
                seen.add(did)
                out.append((did, name, piece))
        if src.max_docs and len(out) >= src.max_docs:
            break
    return out


def english_reference(cfg: CorpusConfig) -> dict[str, set[str]]:
    """The English help paragraphs that mark untranslated text, parsed once for all tasks (if any source needs it)."""
    needs = any(p.startswith("libreoffice-help-") and p != cfg.english_reference
                for src in cfg.sources if src.kind == "debian" for p in src.packages)
    if not needs:
        return {}
    root = debian.fetch_package(cfg.english_reference, Path(cfg.raw_dir))
    return {cfg.english_reference: extract.libreoffice_paragraph_set(root)}


def collect(cfg: CorpusConfig) -> dict[str, list[tuple[str, str, str]]]:
    """lang -> [(doc_id, source, text)], filtered, chunked and deduplicated (first occurrence wins).

    Sources are read as independent tasks where cfg.cluster says (tokshift.core.cluster); deduplication across
    sources then runs here in source order, so the result does not depend on where the tasks ran.
    """
    # in this process the tasks share one cache, filled on first use; on a cluster each task gets a copy
    references = {} if cfg.cluster == "none" else english_reference(cfg)
    parts = fan_out(source_pieces, [(src, cfg, references) for src in cfg.sources], cfg.cluster, "corpus.cluster",
                    desc="corpus sources")
    seen: set[str] = set()
    by_lang: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for i, (src, pieces) in enumerate(zip(cfg.sources, parts, strict=True)):
        n = 0
        for did, name, piece in pieces:
            if did not in seen:
                seen.add(did)
                by_lang[src.lang].append((did, name, piece))
                n += 1
        if n == 0:
            raise EmptyCorpusError(
                f"params.yaml: corpus.sources[{i}] ({src.kind}, lang {src.lang}) gave no documents after "
                f"filtering; check its packages/path, that the text is in {src.lang}'s script, "
                f"or lower corpus.min_doc_chars"
            )
    return by_lang


def build_corpus(cfg: CorpusConfig, out_file: str | Path) -> dict[str, dict[str, dict[str, float]]]:
    """Write the corpus Parquet atomically; returns metrics {lang: {split: {mb, docs}}}."""
    by_lang = collect(cfg)
    rows: dict[str, list] = {name: [] for name in SCHEMA.names}
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    for lang in sorted(by_lang):
        cap = cfg.max_bytes.get(lang, cfg.max_bytes_per_lang)
        used = 0
        counts = {s: {"docs": 0, "mb": 0.0} for s in SPLITS}
        docs = sorted(by_lang[lang])
        past_cap = len(docs)
        for i, (did, source, text) in enumerate(docs):
            n = len(text.encode("utf-8"))
            if used + n > cap and used > 0:
                past_cap = i
                break
            used += n
            split = assign_split(did, cfg.valid_fraction, cfg.test_fraction)
            for key, value in zip(SCHEMA.names, (did, lang, source, split, text), strict=True):
                rows[key].append(value)
            counts[split]["docs"] += 1
            counts[split]["mb"] += n / 1e6
        # documents past the cap were never train text: they top up short held-out splits, the smaller first
        for did, source, text in docs[past_cap:]:
            short = [s for s in ("valid", "test") if counts[s]["docs"] < cfg.min_heldout_docs]
            if not short:
                break
            split = min(short, key=lambda s: (counts[s]["docs"], s))
            for key, value in zip(SCHEMA.names, (did, lang, source, split, text), strict=True):
                rows[key].append(value)
            counts[split]["docs"] += 1
            counts[split]["mb"] += len(text.encode("utf-8")) / 1e6
        metrics[lang] = {s: {"docs": c["docs"], "mb": round(c["mb"], 3)} for s, c in counts.items()}
        for split in ("valid", "test"):
            if counts[split]["docs"] == 0:
                raise EmptyCorpusError(
                    f"language {lang} has no {split} documents ({counts['train']['docs']} in train); raise "
                    f"params.yaml: corpus.max_bytes_per_lang or corpus.{split}_fraction"
                )
    # Sorted by split then language, in small row groups: readers of one split skip the others.
    table = pa.table(rows, schema=SCHEMA).sort_by([("split", "ascending"), ("lang", "ascending"),
                                                   ("doc_id", "ascending")])
    with atomic_file(out_file) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=512)
    return metrics


def read_corpus(path: str | Path, split: str | list[str] | None = None, lang: str | None = None,
                columns: list[str] | None = None) -> pa.Table:
    """Rows of the corpus Parquet, optionally of one split (or several) and/or language, optionally some columns."""
    filters = [(k, "in" if isinstance(v, list) else "=", v) for k, v in (("split", split), ("lang", lang))
               if v is not None]
    if not Path(path).is_file():
        raise MissingFileError(f"{path}: corpus file not found; build it with `dvc repro corpus`")
    try:
        return pq.read_table(path, columns=columns, filters=filters or None)
    except pa.ArrowInvalid as err:
        raise CorruptFileError(f"{path}: not a corpus Parquet file ({str(err)[:120]}); rebuild it with "
                               "`dvc repro corpus`") from None


def split_texts(path: str | Path, split: str, lang: str, field: str) -> list[str]:
    """Texts of one split and language in doc_id order; none is an error naming the params.yaml `field`."""
    docs = read_corpus(path, split=split, lang=lang).sort_by("doc_id").column("text").to_pylist()
    if not docs:
        raise ValueError(f"{path}: no {split} documents for language '{lang}'; fix params.yaml: {field}")
    return docs


def capped_texts(texts: list[str], max_bytes: int) -> list[str]:
    """The first documents of `texts` up to `max_bytes` UTF-8 bytes; the last one cut at a line end."""
    out, used = [], 0
    for text in texts:
        data = text.encode("utf-8")
        if used + len(data) > max_bytes:
            head = data[: max_bytes - used].decode("utf-8", errors="ignore")
            head = head[: head.rfind("\n")] if "\n" in head else head
            if head.strip():
                out.append(head)
            break
        out.append(text)
        used += len(data)
    return out


def head_texts(texts: list[str], max_bytes: int, head: int = 1000) -> list[str]:
    """Each document cut to its first `head` bytes (blank ones dropped), then the first up to `max_bytes`."""
    cut = [t.encode("utf-8")[:head].decode("utf-8", errors="ignore") for t in texts]
    return capped_texts([c for c in cut if c.strip()], max_bytes)
