"""Decompounding data from plain text: words seen hyphenated give their boundaries (CompoundPiece's stage 1).

`Datei-Menü` in the train split says that `dateimenü` splits as `datei|menü`; a word never seen hyphenated
that cannot be cut into two known words (corpus words or lexicon nouns, with a linking element between) is
a non-compound. Words are lowercased and segmented on the surface (a linking `s` stays with the part before
it, where the writer's hyphen put it). Train, valid and test are split by lemma key, so `Pivot-Tabelle` and
`Pivot-Tabellen` never sit on both sides. Leaves out: Wiktionary's annotated compounds (no offline source).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from tokshift.core.errors import TokshiftError
from tokshift.core.params import check
from tokshift.data.languages import check_language

# Letters only, each part >= 2 letters; a hyphen at either end is an ellipsis (`Ein- und Ausgabe`), not a compound.
HYPHENATED = re.compile(r"(?<![\w-])([^\W\d_]{2,}(?:-[^\W\d_]{2,})+)(?![\w-])")
PLAIN = re.compile(r"(?<![\w-])[^\W\d_]+(?![\w-])")
LINKS = ("", "s", "es", "n", "en", "e", "er", "ens")


class NoCompoundsError(TokshiftError, ValueError):
    """The language's train split has too few hyphenated words to learn or measure decompounding from."""


@dataclass
class CompoundDataConfig:
    lang: str = "de"
    """Corpus language whose train split gives the words (a language that writes compounds as one word)."""
    lexicon: str = "german-nouns==1.2.5"
    """Pinned PyPI package of Wiktionary nouns (CC BY-SA 4.0) for known words and lemmas; "" for none."""
    max_parts: int = 4
    """Hyphenated words with more parts than this are left out (lists and phrases, not compounds)."""
    min_count: int = 2
    """A plain word must occur this often in the train split to be a non-compound candidate or a known word."""
    min_part: int = 3
    """Shortest part when testing whether a non-compound candidate splits into two known words."""
    negatives_per_compound: float = 1.0
    """Non-compounds drawn per compound (the paper balances the two)."""
    min_compounds: int = 200
    """Fewer distinct hyphenated words than this is an error: too few to learn from or measure."""
    valid_fraction: float = 0.1
    """Share of lemma keys held out for choosing models."""
    test_fraction: float = 0.2
    """Share of lemma keys held out for the reported accuracy."""
    seed: int = 0
    """Seed of the non-compound draw."""

    def __post_init__(self) -> None:
        check_language(self.lang, "lang")
        check(not self.lexicon.startswith("german-nouns") or self.lang == "de", "lexicon",
              f"'{self.lexicon}' holds German nouns; set it to \"\" (or a lexicon of '{self.lang}') "
              f"for lang {self.lang}")
        check(self.max_parts >= 2, "max_parts", f"must be >= 2, got {self.max_parts}")
        check(self.min_count >= 1, "min_count", f"must be >= 1, got {self.min_count}")
        check(self.min_part >= 1, "min_part", f"must be >= 1, got {self.min_part}")
        check(self.negatives_per_compound >= 0, "negatives_per_compound", "must be >= 0")
        check(0 < self.valid_fraction and 0 < self.test_fraction and self.valid_fraction + self.test_fraction < 1,
              "valid_fraction", "and test_fraction must be > 0 and sum to < 1")


def boundaries(parts: Iterable[str]) -> tuple[int, ...]:
    """Character offsets where a new part starts: ('datei', 'menü') -> (5,)."""
    cuts, at = [], 0
    for part in list(parts)[:-1]:
        at += len(part)
        cuts.append(at)
    return tuple(cuts)


def segment(word: str, cuts: Iterable[int]) -> list[str]:
    """Cut `word` at `cuts`: ('dateimenü', (5,)) -> ['datei', 'menü']."""
    edges = [0, *cuts, len(word)]
    return [word[a:b] for a, b in zip(edges, edges[1:], strict=False)]


def hyphenated_words(texts: Iterable[str], max_parts: int) -> tuple[Counter, Counter]:
    """Counts of hyphenated words as lowercased part tuples, and of their surface forms (joined, first part's case)."""
    parts, forms = Counter(), Counter()
    for text in texts:
        for match in HYPHENATED.finditer(text):
            pieces = match.group(1).split("-")
            lowered = tuple(p.lower() for p in pieces)
            # lower() may change a word's length (İ); offsets would no longer match the text
            # all-lowercase chains are program and option names (update-grub), not written compounds
            if (len(pieces) > max_parts or all(p == lo for p, lo in zip(pieces, lowered, strict=False))
                    or any(len(a) != len(b) for a, b in zip(pieces, lowered, strict=False))):
                continue
            parts[lowered] += 1
            forms[pieces[0] + "".join(lowered[1:])] += 1
    return parts, forms


def most_common_forms(surface: Counter) -> dict[str, str]:
    """Lowercased word -> its most frequent surface form."""
    forms: dict[str, str] = {}
    for form, _ in surface.most_common():
        forms.setdefault(form.lower(), form)
    return forms


def cuts(segmentation: str) -> tuple[int, ...]:
    """Cut offsets of a stored segmentation: 'datei|menü' -> (5,)."""
    return boundaries(segmentation.split("|"))


def plain_words(texts: Iterable[str]) -> tuple[Counter, dict[str, str]]:
    """Counts of words written without a hyphen (lowercased), and each word's most frequent surface form."""
    counts, surface = Counter(), Counter()
    for text in texts:
        for word in PLAIN.findall(text):
            if len(word) == len(word.lower()):
                counts[word.lower()] += 1
                surface[word] += 1
    return counts, most_common_forms(surface)


def splits_into_known(word: str, known: set[str], min_part: int) -> bool:
    """Whether `word` is two or more known words, each but the last optionally followed by a linking element."""
    n = len(word)
    ends = [False] * (n + 1)  # ends[i]: word[:i] is one or more known words (with links)
    for i in range(min_part, n + 1):
        for j in range(0, i - min_part + 1):
            if (j == 0 or ends[j]) and any(word[j:i].endswith(link) and len(word[j:i]) - len(link) >= min_part
                                           and word[j:i - len(link)] in known for link in LINKS):
                ends[i] = True
                break
    # two or more: some cut point k where word[:k] is covered and word[k:] is a known word
    return any(ends[k] and word[k:] in known for k in range(min_part, n - min_part + 1))


def lemma_key(parts: tuple[str, ...], lemmas: dict[str, str]) -> str:
    """Group key of a word: its modifiers plus the lemma of its head (`pivot|tabelle` for `pivot|tabellen`)."""
    return "|".join((*parts[:-1], lemmas.get(parts[-1], parts[-1])))


def split_of(key: str, cfg: CompoundDataConfig) -> str:
    """train / valid / test by a stable hash of the lemma key."""
    x = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2 ** 64
    return "test" if x < cfg.test_fraction else ("valid" if x < cfg.test_fraction + cfg.valid_fraction else "train")


def build_pairs(texts: list[str], cfg: CompoundDataConfig, lexicon: set[str] | None = None,
                lemmas: dict[str, str] | None = None) -> tuple[list[dict], Counter]:
    """Rows {word, form, segmentation ('datei|menü'), compound, count, key, split} from the train texts, and the
    counts of the words written without a hyphen."""
    lexicon, lemmas = lexicon or set(), lemmas or {}
    hyphen, hyphen_forms = hyphenated_words(texts, cfg.max_parts)
    counts, forms = plain_words(texts)
    best: dict[str, tuple[str, ...]] = {}
    seen: Counter = Counter()
    for parts, n in hyphen.most_common():
        joined = "".join(parts)
        seen[joined] += n
        best.setdefault(joined, parts)  # the most frequent segmentation of a joined word wins
    if len(best) < cfg.min_compounds:
        raise NoCompoundsError(f"corpus language '{cfg.lang}': {len(best)} distinct hyphenated words in the train "
                               f"split, need >= {cfg.min_compounds} (params.yaml: compound_data.min_compounds); "
                               f"pick a language that writes compounds as one word (de, nl, sv, ...) or add text")
    surface = most_common_forms(hyphen_forms)
    rows = [{"word": w, "form": forms.get(w, surface[w]), "segmentation": "|".join(p), "compound": True,
             "count": seen[w], "key": lemma_key(p, lemmas)} for w, p in best.items()]
    known = {w for w, n in counts.items() if n >= cfg.min_count} | lexicon
    candidates = sorted(w for w, n in counts.items()
                        if n >= cfg.min_count and len(w) >= 2 * cfg.min_part and w not in best
                        and not splits_into_known(w, known, cfg.min_part))
    rng = random.Random(cfg.seed)
    draw = rng.sample(candidates, min(len(candidates), round(len(rows) * cfg.negatives_per_compound)))
    rows += [{"word": w, "form": forms[w], "segmentation": w, "compound": False, "count": counts[w],
              "key": lemma_key((w,), lemmas)} for w in sorted(draw)]
    for row in rows:
        row["split"] = split_of(row["key"], cfg)
    return rows, counts
