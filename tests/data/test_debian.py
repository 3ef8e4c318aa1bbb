"""Debian packages are downloaded, unpacked and read into the corpus; bad ones are clear errors."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tokshift.core.params import from_dict
from tokshift.data.corpus import CorpusConfig, build_corpus
from tokshift.data.debian import DebianSourceError, download_deb, extract_deb

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs Debian's dpkg-deb")


CONTROL = "Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n"


def build_deb(tmp: Path, name: str, files: dict[str, bytes]) -> Path:
    """A real .deb named `name` holding `files` (path -> bytes)."""
    root = tmp / f"build-{name}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(CONTROL.format(name=name))
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    out = tmp / f"{name}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(out)], check=True,
                   capture_output=True)
    return out


def help_page(paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><body><header><p>Hilfe</p></header>{body}</body></html>".encode()


GERMAN = ["Die Suchleiste kann zur schnellen Suche verwendet werden.",
          "Wählen Sie Ansicht - Symbolleisten - Suchen, um sie anzuzeigen."]


UNTRANSLATED = "Use the find toolbar to search quickly."


MAN = (".TH LS 1\n.SH NAME\nls \\- Verzeichnisinhalte auflisten\n"
       ".SH BESCHREIBUNG\nZeigt Informationen über Dateien an.\n")


def test_extract_deb_unpacks_files(tmp_path):
    deb = build_deb(tmp_path, "tiny", {"usr/share/doc/tiny/hello.txt": b"hallo"})
    root = extract_deb(deb, tmp_path / "out")
    assert (root / "usr/share/doc/tiny/hello.txt").read_text() == "hallo"


def test_corrupt_deb_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.deb"
    bad.write_bytes(b"not an archive")
    with pytest.raises(DebianSourceError, match="bad.deb: dpkg-deb -x failed"):
        extract_deb(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_corpus_from_debian_packages(tmp_path):
    raw = tmp_path / "raw"
    (raw / "debs").mkdir(parents=True)
    help_dir = "usr/share/libreoffice/help/{}/text/page{}.html"
    de_files = {help_dir.format("de", i): help_page([f"{p} (Seite {i})" for p in GERMAN] + [UNTRANSLATED])
                for i in range(40)}
    en_files = {help_dir.format("en-US", 0): help_page([UNTRANSLATED])}
    man_files = {"usr/share/man/de/man1/ls.1.gz": gzip.compress(MAN.encode())}
    for name, files in (("libreoffice-help-de", de_files), ("libreoffice-help-en-us", en_files),
                        ("manpages-de", man_files)):
        # A cached download: exactly where `apt-get download` would have put it.
        build_deb(tmp_path, name, files).rename(raw / "debs" / f"{name}.deb")
        assert download_deb(name, raw / "debs") == raw / "debs" / f"{name}.deb"
    cfg = from_dict(CorpusConfig, {
        "raw_dir": str(raw), "min_doc_chars": 10, "valid_fraction": 0.2, "test_fraction": 0.2,
        "sources": [{"kind": "debian", "lang": "de", "packages": ["libreoffice-help-de", "manpages-de"]}],
    }, "corpus")
    metrics = build_corpus(cfg, tmp_path / "corpus.parquet")
    rows = pq.read_table(tmp_path / "corpus.parquet").to_pylist()
    texts = [r["text"] for r in rows]
    assert sum(m["docs"] for m in metrics["de"].values()) == len(rows) == 41
    assert all(UNTRANSLATED not in t for t in texts)
    assert any("Verzeichnisinhalte auflisten" in t for t in texts) == (shutil.which("groff") is not None)
    assert {r["source"] for r in rows} >= {"libreoffice-help-de"}
