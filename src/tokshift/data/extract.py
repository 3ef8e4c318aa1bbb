"""Turn unpacked documentation into plain-text documents: LibreOffice help HTML, man pages, Python source.

Each extractor yields `(name, text)` pairs, one per document (an HTML help page, a man page, a
`.py` file). Language-script filtering, deduplication and splitting happen later, in `corpus`.
Leaves out: images, tables of contents, scripts and the help's navigation chrome.
"""

from __future__ import annotations

import gzip
import logging
import re
import shutil
import subprocess
import sysconfig
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

log = logging.getLogger(__name__)

_BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre"}
_SKIP_TAGS = {"script", "style", "header", "aside", "noscript", "head"}


class _ParagraphParser(HTMLParser):
    """Collects the text of block elements (<p>, <h1>..<h6>, <li>, <pre>) outside page chrome."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.ids: list[str | None] = []  # the id attribute of the block each paragraph came from
        self._skip = 0
        self._depth = 0
        self._buf: list[str] = []
        self._id_stack: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            if self._depth:
                self._flush()
            self._depth += 1
            self._id_stack.append(dict(attrs).get("id"))
        elif tag == "br" and self._depth:
            self._buf.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS and self._depth:
            self._flush()
            self._depth -= 1
            self._id_stack.pop()

    def handle_data(self, data: str) -> None:
        if self._depth and not self._skip:
            self._buf.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._buf).split())
        if text:
            self.paragraphs.append(text)
            self.ids.append(self._id_stack[-1] if self._id_stack else None)
        self._buf = []


def html_paragraphs(html: str) -> list[str]:
    """'<p>Hello <b>world</b></p><p>x</p>' -> ['Hello world', 'x']."""
    parser = _ParagraphParser()
    parser.feed(html)
    parser.close()
    return parser.paragraphs


def html_paragraph_ids(html: str) -> list[tuple[str, str]]:
    """'<p id="a">Hello</p><p>x</p>' -> [('a', 'Hello')]: paragraphs whose block has an id (the help's
    paragraph ids are the same in every translation)."""
    parser = _ParagraphParser()
    parser.feed(html)
    parser.close()
    return [(i, p) for i, p in zip(parser.ids, parser.paragraphs, strict=True) if i]


def libreoffice_help_docs(root: Path, untranslated: set[str] | None = None) -> Iterator[tuple[str, str]]:
    """One document per help page under `root`; paragraphs found in `untranslated` are dropped."""
    for path in sorted(root.rglob("*.html")):
        paras = html_paragraphs(path.read_text(encoding="utf-8", errors="replace"))
        if untranslated:
            paras = [p for p in paras if p not in untranslated]
        if paras:
            yield str(path.relative_to(root)), "\n".join(paras)


def libreoffice_paragraph_set(root: Path) -> set[str]:
    """Every paragraph of a help tree: the English reference that marks untranslated text elsewhere."""
    return {p for _, doc in libreoffice_help_docs(root) for p in doc.split("\n")}


def render_man_page(path: Path) -> str:
    """Render a (gzipped) man page to UTF-8 text: one line per paragraph, no overstrike or hyphenation."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    # Very long lines make each paragraph one line; -P-cbou turns off SGR, bold, overstrike, underline.
    cmd = ["groff", "-k", "-t", "-man", "-Tutf8", "-P-cbou", "-rLL=5000n", "-rHY=0", "-dAD=l"]
    proc = subprocess.run(cmd, input=raw, capture_output=True, timeout=60)
    text = proc.stdout.decode("utf-8", errors="replace")
    lines = [ln.strip() for ln in text.split("\n")]
    nonblank = [i for i, ln in enumerate(lines) if ln]
    if len(nonblank) < 3:
        return ""
    # First and last non-blank lines are the running header and footer.
    body = lines[nonblank[0] + 1 : nonblank[-1]]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(body)).strip()


def man_page_docs(root: Path, workers: int = 2) -> Iterator[tuple[str, str]]:
    """One document per man page found under `root` (any `man*/` folder)."""
    if shutil.which("groff") is None:
        raise RuntimeError("groff is needed to render man pages: install Debian's groff-base, or drop "
                           "the manpages-* packages from params.yaml: corpus.sources")
    pages = sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name.startswith("man")
                   and not p.is_symlink())
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for path, text in zip(pages, pool.map(render_man_page, pages), strict=True):
            if text:
                yield str(path.relative_to(root)), text


def python_stdlib_docs(stdlib: Path | None = None) -> Iterator[tuple[str, str]]:
    """One document per `.py` file of the running interpreter's standard library (not site-packages)."""
    stdlib = Path(stdlib or sysconfig.get_paths()["stdlib"])
    skipped = 0
    for path in sorted(stdlib.rglob("*.py")):
        rel = path.relative_to(stdlib)
        if rel.parts[0] in {"site-packages", "dist-packages"}:
            continue
        try:
            yield str(rel), path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            skipped += 1
    if skipped:
        log.info("python stdlib: skipped %d files that are not UTF-8", skipped)
