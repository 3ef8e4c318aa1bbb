"""FreeDict dictionaries in dictd format -> (English, other language) word pairs."""

import pytest

from tests.helpers import b64, write_dictd
from tokshift.data import dictionaries
from tokshift.data.dictionaries import MissingDictionaryError, b64_number, dictd_entries, translations, word_pairs


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


def test_a_downloaded_dictionary_needs_no_package_list(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(dictionaries, "package_exists", lambda package: asked.append(package) or False)
    write_dictd(tmp_path, "eng-deu", {"dog": "dog /d/\nHund\n"})
    assert word_pairs("de", tmp_path) == [("dog", "Hund")]
    assert asked == ["dict-freedict-deu-eng"]  # only the one not downloaded
