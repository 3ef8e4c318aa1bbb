"""A downstream task for encoders, built from the parallel LibreOffice help: retrieval and topic labels.

Every help page exists in every language under the same path, and its paragraphs carry the same
ids, so (page, paragraph id) pairs an English paragraph with its translation. Items are pairs that
- are translated (the text differs from the English one) and of a useful length,
- were held out of training: neither text is a paragraph of the corpus's train split,
- have an English text that occurs once (boilerplate such as "Choose Tools - AutoText." is dropped).
Each item's label is the help module its page belongs to (Writer, Calc, ... from the path). Pages
are split by a hash of their path: English items of `train` pages train the topic classifier,
items of `test` pages are the test set of every language (the zero-shot cross-lingual setting).
Output: one Parquet row per (language, page, paragraph): lang, split, page, par_id, label, text, en_text.
Leaves out: the help's tables and headings shorter than min_chars.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tokshift.core.atomic import atomic_file
from tokshift.core.errors import InputError
from tokshift.core.params import check
from tokshift.data import debian
from tokshift.data.corpus import read_corpus
from tokshift.data.extract import html_paragraph_ids
from tokshift.data.languages import check_language

log = logging.getLogger(__name__)

# Help module folder (text/<module>/...) -> label.
MODULES = {"swriter": "Writer", "scalc": "Calc", "simpress": "Impress", "sdraw": "Draw", "sdatabase": "Base",
           "smath": "Math", "sbasic": "Basic", "schart": "Chart", "shared": "shared"}
HELP_PACKAGES = {"en": "libreoffice-help-en-us", "de": "libreoffice-help-de", "fr": "libreoffice-help-fr",
                 "es": "libreoffice-help-es", "ru": "libreoffice-help-ru", "el": "libreoffice-help-el",
                 "ja": "libreoffice-help-ja", "zh": "libreoffice-help-zh-cn", "ko": "libreoffice-help-ko"}
SCHEMA = pa.schema([("lang", pa.string()), ("split", pa.string()), ("page", pa.string()), ("par_id", pa.string()),
                    ("label", pa.string()), ("text", pa.string()), ("en_text", pa.string())])


class TaskError(InputError):
    """A task that cannot be built or read: too few items, an unknown label, a language without test items."""


@dataclass
class HelpTaskConfig:
    langs: list[str] = field(default_factory=lambda: ["de", "fr", "es", "ru", "el", "ja", "zh", "ko"])
    """Languages paired with English (each needs a LibreOffice help package)."""
    raw_dir: str = "storage/raw"
    """Where the help packages are downloaded and unpacked (shared with the corpus stage)."""
    test_items: int = 300
    """Test items per language (taken in hash order from the test pages)."""
    train_items: int = 2000
    """English items that train the topic classifier (from the train pages)."""
    train_page_fraction: float = 0.5
    """Share of pages (by hash of the path) whose English items train the classifier; the rest are test pages."""
    min_chars: int = 40
    """English paragraphs shorter than this are not items (titles, menu paths)."""
    max_chars: int = 600
    """English paragraphs longer than this are not items."""
    min_label_items: int = 40
    """Labels with fewer English train items than this are dropped (too few to learn)."""
    min_test_items: int = 100
    """A language with fewer test items than this is an error."""

    def __post_init__(self) -> None:
        check(bool(self.langs), "langs", "must name at least one language")
        for i, lang in enumerate(self.langs):
            check_language(lang, f"langs[{i}]")
            check(lang in HELP_PACKAGES and lang != "en", f"langs[{i}]",
                  f"'{lang}' has no LibreOffice help package; choose from {sorted(set(HELP_PACKAGES) - {'en'})}")
        for name in ("test_items", "train_items", "min_chars", "min_test_items"):
            check(getattr(self, name) > 0, name, f"must be > 0, got {getattr(self, name)}")
        check(self.max_chars > self.min_chars, "max_chars", f"must be > min_chars ({self.min_chars})")
        check(0 < self.train_page_fraction < 1, "train_page_fraction", f"must be in (0, 1), got "
                                                                        f"{self.train_page_fraction}")


def _hash(text: str) -> float:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def help_pages(root: Path) -> dict[str, dict[str, str]]:
    """page path (text/<module>/...) -> {paragraph id: text} for one unpacked help package."""
    homes = sorted(root.glob("usr/share/libreoffice/help/*/text"))
    if not homes:
        raise TaskError(f"{root}: no usr/share/libreoffice/help/<lang>/text folder; is it a libreoffice-help package?")
    out = {}
    for path in sorted(homes[0].rglob("*.html")):
        paras = html_paragraph_ids(path.read_text(encoding="utf-8", errors="replace"))
        if paras:
            out[str(path.relative_to(homes[0].parent))] = dict(paras)
    return out


def train_paragraphs(corpus: Path, lang: str) -> set[str]:
    """Every paragraph (line) of the corpus's train split in `lang`: text the tokenizers and hypernetworks saw."""
    docs = read_corpus(corpus, split="train", lang=lang, columns=["text"]).column("text").to_pylist()
    return {line for doc in docs for line in doc.split("\n")}


def build_help_task(cfg: HelpTaskConfig, corpus: Path, out_file: Path) -> dict[str, object]:
    """Write the task Parquet atomically; returns item counts per language and label."""
    raw = Path(cfg.raw_dir)
    english = help_pages(debian.fetch_package(HELP_PACKAGES["en"], raw))
    seen_en = train_paragraphs(corpus, "en")
    counts = Counter(text for page in english.values() for text in page.values())
    rows: dict[str, list] = {name: [] for name in SCHEMA.names}

    def add(lang, split, page, pid, label, text, en_text):
        for key, value in zip(SCHEMA.names, (lang, split, page, pid, label, text, en_text), strict=True):
            rows[key].append(value)

    usable = {}  # (page, pid) -> (label, English text, split): English side of every possible item
    for page, paras in english.items():
        module = page.split("/")[1]
        split = "train" if _hash(f"page:{page}") < cfg.train_page_fraction else "test"
        for pid, text in paras.items():
            if (module in MODULES and cfg.min_chars <= len(text) <= cfg.max_chars and counts[text] == 1
                    and text not in seen_en):
                usable[page, pid] = (MODULES[module], text, split)
    order = sorted(usable, key=lambda k: _hash(f"item:{k[0]}#{k[1]}"))
    train = [k for k in order if usable[k][2] == "train"][:cfg.train_items]
    labels = Counter(usable[k][0] for k in train)
    kept = {label for label, n in labels.items() if n >= cfg.min_label_items}
    for page, pid in train:
        label, text, _ = usable[page, pid]
        if label in kept:
            add("en", "train", page, pid, label, text, text)
    test_keys = [k for k in order if usable[k][2] == "test" and usable[k][0] in kept]
    for lang in cfg.langs:
        pages, seen = help_pages(debian.fetch_package(HELP_PACKAGES[lang], raw)), train_paragraphs(corpus, lang)
        taken = 0
        for page, pid in test_keys:
            label, en_text, _ = usable[page, pid]
            text = pages.get(page, {}).get(pid)
            if not text or text == en_text or text in seen or len(text) > 4 * cfg.max_chars:
                continue
            add(lang, "test", page, pid, label, text, en_text)
            taken += 1
            if taken == cfg.test_items:
                break
        if taken < cfg.min_test_items:
            raise TaskError(f"language '{lang}': only {taken} test items (need {cfg.min_test_items}); drop it from "
                            f"params.yaml: help_task.langs or lower help_task.min_test_items")
    en_test = sorted({(p, i) for p, i, lang in zip(rows["page"], rows["par_id"], rows["lang"], strict=True)
                      if lang != "en"}, key=lambda k: _hash(f"item:{k[0]}#{k[1]}"))[:cfg.test_items]
    for page, pid in en_test:
        label, text, _ = usable[page, pid]
        add("en", "test", page, pid, label, text, text)
    table = pa.table(rows, schema=SCHEMA)
    with atomic_file(out_file) as tmp:
        pq.write_table(table, tmp)
    return task_counts(table, dropped=sorted(set(labels) - kept))


def task_counts(table: pa.Table, dropped: list[str] | None = None) -> dict[str, object]:
    """{'items': {lang/split: n}, 'labels': {lang/split: {label: n}}, 'dropped_labels': [...]}."""
    items, labels = Counter(), {}
    for lang, split, label in zip(*(table.column(c).to_pylist() for c in ("lang", "split", "label")), strict=True):
        items[f"{lang}/{split}"] += 1
        labels.setdefault(f"{lang}/{split}", Counter())[label] += 1
    return {"items": dict(sorted(items.items())),
            "labels": {k: dict(sorted(v.items())) for k, v in sorted(labels.items())}, "dropped_labels": dropped or []}


def read_help_task(path: str | Path, labels: list[str] | None = None) -> pa.Table:
    """The task table; a missing file or a label outside `labels` is an error naming the file."""
    path = Path(path)
    if not path.exists():
        raise TaskError(f"{path}: task file not found; build it with `dvc repro help_task`")
    table = pq.read_table(path)
    missing = set(SCHEMA.names) - set(table.column_names)
    if missing:
        raise TaskError(f"{path}: lacks columns {sorted(missing)}; rebuild it with `dvc repro help_task`")
    if labels is not None:
        unknown = sorted(set(table.column("label").to_pylist()) - set(labels))
        if unknown:
            raise TaskError(f"{path}: unknown label(s) {unknown}; the classifier knows {sorted(labels)}")
    return table
