"""FreeDict dictionaries in dictd format -> (English, other language) word pairs."""

import gzip
from pathlib import Path

import pytest

from tokshift.data import dictionaries
from tokshift.data.dictionaries import MissingDictionaryError, b64_number, dictd_entries, translations, word_pairs

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64(n: int) -> str:
    out = ""
    while True:
        out = B64[n % 64] + out
        n //= 64
        if not n:
            return out


def write_dictd(root: Path, name: str, entries: dict[str, str]) -> None:
    """A dictd dictionary as FreeDict's packages unpack it (00-database record first, as they have)."""
    folder = root / "deb" / f"dict-freedict-{name}" / "usr" / "share" / "dictd"
    folder.mkdir(parents=True)
    body, index = b"", []
    for head, text in {"00-database-info": "made for a test\n", **entries}.items():
        data = text.encode("utf-8")
        index.append(f"{head}\t{b64(len(body))}\t{b64(len(data))}")
        body += data
    (folder / f"freedict-{name}.index").write_text("\n".join(index) + "\n", encoding="utf-8")
    (folder / f"freedict-{name}.dict.dz").write_bytes(gzip.compress(body))
    (root / "debs").mkdir(exist_ok=True)
    (root / "debs" / f"dict-freedict-{name}.deb").write_bytes(b"")  # cached: nothing is downloaded


def test_dictd_numbers_are_base_64():
    assert b64_number("A") == 0 and b64_number("BA") == 64 and b64_number(b64(123456)) == 123456


@pytest.mark.parametrize("entry, words", [
    ("dog /dˈɒɡ/\nHund <m>, Köter <m>\n see: {hound}\n", ["Hund", "Köter"]),
    ("amazing /əˈmeɪzɪŋ/ <adj>\n驚くべき, 凄い\ncausing wonder\n", ["驚くべき", "凄い"]),
    ("a romp of a film /ɐ/\nein Filmspaß\n", []),  # more than one word
    ("talk /tɔːk/\nговорить; поговорить\n", ["говорить", "поговорить"]),
    ("lone header only\n", []),
])
def test_translations_are_the_single_words_of_the_first_line(entry, words):
    assert translations(entry) == words


def test_word_pairs_read_both_directions(tmp_path, monkeypatch):
    monkeypatch.setattr(dictionaries, "package_exists", lambda package: True)
    write_dictd(tmp_path, "eng-deu", {"Dog": "Dog /d/\nHund <m>, Köter\n", "hot dog": "hot dog /h/\nHotdog\n"})
    write_dictd(tmp_path, "deu-eng", {"Katze": "Katze /k/ <f>\ncat, puss\n"})
    entries = list(dictd_entries(*sorted((tmp_path / "deb" / "dict-freedict-deu-eng").rglob("freedict-*"))[::-1]))
    assert entries == [("Katze", "Katze /k/ <f>\ncat, puss\n")]
    assert word_pairs("de", tmp_path) == [("cat", "Katze"), ("dog", "Hund"), ("dog", "Köter"), ("puss", "Katze")]


@pytest.mark.parametrize("lang", ["ko", "zh", "xx"])
def test_a_language_without_a_dictionary_is_named(tmp_path, monkeypatch, lang):
    monkeypatch.setattr(dictionaries, "package_exists", lambda package: False)
    with pytest.raises(MissingDictionaryError, match=f"between English and {lang}") as err:
        word_pairs(lang, tmp_path)
    assert "\n" not in str(err.value)
