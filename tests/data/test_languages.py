"""Lines are kept by the share of characters in their language's scripts."""

from __future__ import annotations

import pytest

from tokshift.data.languages import filter_lines, keep_line, script_of


@pytest.mark.parametrize("ch, script", [("a", "Latin"), ("ß", "Latin"), ("я", "Cyrillic"), ("λ", "Greek"),
                                        ("の", "Hiragana"), ("カ", "Katakana"), ("語", "Han"), ("한", "Hangul"),
                                        ("1", None), ("𠀋", "Han")])
def test_script_of(ch, script):
    assert script_of(ch) == script


@pytest.mark.parametrize("line, lang, kept", [
    ("Open the file menu", "ja", False),            # untranslated UI string in Japanese help
    ("LibreOffice の設定を変更します", "ja", True),   # Latin product name inside Japanese text
    ("Откройте меню Файл", "ru", True),
    ("sudo apt-get install", "ru", False),
    ("Καθορίζει τις πληροφορίες", "el", True),
    ("Die Datei wird geöffnet", "de", True),
    ("Файл открыт", "de", False),
    ("12345 --- ()", "zh", False),                  # no letters at all
    ("def f(x): return x", "code", True),
])
def test_keep_line(line, lang, kept):
    assert keep_line(line, lang) is kept


def test_filter_lines_keeps_blank_separators():
    text = "Привет мир\nls -la\n\nЕщё строка"
    assert filter_lines(text, "ru") == "Привет мир\n\nЕщё строка"
