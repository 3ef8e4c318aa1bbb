"""Text extraction from LibreOffice help pages, man pages and Python files."""

from __future__ import annotations

import gzip
import shutil

import pytest

from tokshift.data.extract import html_paragraphs, libreoffice_help_docs, man_page_docs, python_stdlib_docs

HELP_PAGE = """<html><head><title>T</title><script>var x = "<p>no</p>";</script></head><body>
<header><p>Help for LibreOffice</p></header><aside><p>Contents</p></aside>
<h1 id="hd_1">Suchleiste</h1>
<p id="par_1">Die <span class="menuitem">Suchleiste</span> &amp; mehr.</p>
<p id="par_2">This paragraph was not translated.</p>
<ul><li>Erster Punkt</li></ul></body></html>"""


MAN_PAGE = r""".TH GRUSS 1 "2024" "tokshift" "Benutzerbefehle"
.SH BEZEICHNUNG
gruss \- sagt Hallo
.SH BESCHREIBUNG
.B gruss
gibt einen freundlichen Gruß aus, der über mehrere Zeilen
im Quelltext geht und trotzdem ein Absatz bleibt.
"""


def test_html_paragraphs_skip_chrome_and_scripts():
    assert html_paragraphs(HELP_PAGE) == ["Suchleiste", "Die Suchleiste & mehr.",
                                          "This paragraph was not translated.", "Erster Punkt"]


def test_untranslated_paragraphs_are_dropped(tmp_path):
    (tmp_path / "page.html").write_text(HELP_PAGE, encoding="utf-8")
    docs = list(libreoffice_help_docs(tmp_path, untranslated={"This paragraph was not translated."}))
    assert docs == [("page.html", "Suchleiste\nDie Suchleiste & mehr.\nErster Punkt")]


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff (Debian groff-base) renders man pages")
def test_man_page_renders_to_plain_paragraphs(tmp_path):
    (tmp_path / "man1").mkdir()
    (tmp_path / "man1" / "gruss.1.gz").write_bytes(gzip.compress(MAN_PAGE.encode("utf-8")))
    [(name, text)] = list(man_page_docs(tmp_path))
    assert name == "man1/gruss.1.gz"
    assert "gruss - sagt Hallo" in text
    # one line per paragraph, no overstrike bold (g\bgr\bru...) and no running header
    assert "gruss gibt einen freundlichen Gruß aus, der über mehrere Zeilen im Quelltext geht" in text
    assert "\b" not in text and "GRUSS(1)" not in text


def test_python_stdlib_docs_are_python_files():
    docs = dict(python_stdlib_docs())
    assert "json/__init__.py" in docs and "import" in docs["json/__init__.py"]
    assert not any(name.startswith("site-packages") for name in docs)
