"""Languages tokshift knows, their writing systems, and the line filter that keeps a corpus on-script.

A line is kept when enough of its letters are in the language's script(s): pure-ASCII lines in
ja/zh/ru/el/ko (untranslated UI strings, command names) are dropped; Latin-script languages drop
lines that are mostly another script. The check is on code points, not on language identity:
German text in an English file passes (both Latin). `code` is exempt.
"""

from __future__ import annotations

# Unicode blocks per script: (first, last) code points, inclusive.
SCRIPT_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "Latin": ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x1E00, 0x1EFF)),
    "Greek": ((0x370, 0x3FF), (0x1F00, 0x1FFF)),
    "Cyrillic": ((0x400, 0x52F), (0x1C80, 0x1C8F), (0x2DE0, 0x2DFF), (0xA640, 0xA69F)),
    "Hangul": ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF)),
    "Hiragana": ((0x3040, 0x309F),),
    "Katakana": ((0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)),
    "Han": ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FFFF)),
}

# lang -> (scripts whose letters count as on-script, minimum share of the line's letters).
# CJK lines mix in Latin product names ("LibreOffice の設定"), so their share threshold is lower.
LANGUAGES: dict[str, tuple[tuple[str, ...], float]] = {
    "en": (("Latin",), 0.9),
    "de": (("Latin",), 0.9),
    "fr": (("Latin",), 0.9),
    "es": (("Latin",), 0.9),
    "it": (("Latin",), 0.9),
    "pt": (("Latin",), 0.9),
    "nl": (("Latin",), 0.9),
    "pl": (("Latin",), 0.9),
    "ru": (("Cyrillic",), 0.5),
    "uk": (("Cyrillic",), 0.5),
    "el": (("Greek",), 0.5),
    "ja": (("Hiragana", "Katakana", "Han"), 0.3),
    "zh": (("Han",), 0.3),
    "ko": (("Hangul", "Han"), 0.3),
    "code": ((), 0.0),
}


def check_language(lang: str, field: str) -> None:
    """Raise ParamsError naming `field` unless tokshift knows `lang`."""
    from tokshift.core.params import ParamsError

    if lang not in LANGUAGES:
        raise ParamsError(f"{field}: unknown language '{lang}'; use one of {sorted(LANGUAGES)}")


def _script_table() -> dict[int, str]:
    return {cp: s for s, ranges in SCRIPT_RANGES.items() for lo, hi in ranges for cp in range(lo, hi + 1)
            if hi - lo < 0x10000}


_TABLE = _script_table()


def script_of(ch: str) -> str | None:
    """'а' -> 'Cyrillic', 'の' -> 'Hiragana', '1' -> None."""
    cp = ord(ch)
    if 0x20000 <= cp <= 0x2FFFF:
        return "Han"
    return _TABLE.get(cp)


def on_script_share(line: str, scripts: tuple[str, ...]) -> float:
    """Share of the line's letters written in `scripts`; 0.0 for a line with no letters."""
    letters = [c for c in line if c.isalpha()]
    if not letters:
        return 0.0
    return sum(script_of(c) in scripts for c in letters) / len(letters)


def keep_line(line: str, lang: str) -> bool:
    """True when `line` is written in the script of `lang` (always True for `code`)."""
    scripts, min_share = LANGUAGES[lang]
    if not scripts:
        return True
    return on_script_share(line, scripts) >= min_share


def filter_lines(text: str, lang: str) -> str:
    """Drop the lines of `text` that are not in `lang`'s script; blank lines are kept as separators."""
    if not LANGUAGES[lang][0]:
        return text
    return "\n".join(ln for ln in text.split("\n") if not ln.strip() or keep_line(ln, lang))
