"""Decompounding pairs: hyphens give boundaries, unsplittable words are non-compounds, lemmas never straddle splits."""

from __future__ import annotations

import io

import pytest

from tests.compounds.planted import NOUNS, SIMPLE, planted_texts
from tokshift.compounds.lexicon import LexiconError, read_nouns
from tokshift.compounds.pairs import (
    CompoundDataConfig,
    NoCompoundsError,
    boundaries,
    build_pairs,
    hyphenated_words,
    segment,
    split_of,
    splits_into_known,
)
from tokshift.core.params import ParamsError


def test_hyphenated_words_keep_compounds_and_skip_ellipses_names_and_single_letters():
    text = "Das Datei-Menü und die Ein- und Ausgabe; update-grub, E-Mail, Pivot-Tabellen und nicht-LUKS-Geräte."
    parts, forms = hyphenated_words([text], max_parts=4)
    assert set(parts) == {("datei", "menü"), ("pivot", "tabellen"), ("nicht", "luks", "geräte")}
    assert forms["Dateimenü"] == 1 and forms["nichtluksgeräte"] == 1


def test_boundaries_and_segment_are_inverse():
    assert boundaries(["bahnhofs", "uhr"]) == (8,)
    assert segment("bahnhofsuhr", (8,)) == ["bahnhofs", "uhr"]
    assert segment("nichtluksgeräte", boundaries(["nicht", "luks", "geräte"])) == ["nicht", "luks", "geräte"]


def test_splits_into_known_with_linking_elements_and_three_parts():
    known = {"haus", "tür", "bahnhof", "uhr", "schlüssel"}
    assert splits_into_known("haustür", known, 3)
    assert splits_into_known("bahnhofsuhr", known, 3)  # linking s
    assert splits_into_known("haustürschlüssel", known, 3)
    assert not splits_into_known("sicherheit", known, 3)
    assert not splits_into_known("haus", known, 3)


def test_planted_text_gives_every_compound_and_only_unsplittable_non_compounds():
    cfg = CompoundDataConfig(lexicon="", min_compounds=50)
    rows, counts = build_pairs(planted_texts(), cfg)
    comp = {r["word"]: r["segmentation"] for r in rows if r["compound"]}
    assert len(comp) == len(NOUNS) * (len(NOUNS) - 1)
    assert comp["haustür"] == "haus|tür" and comp["dateimenü"] == "datei|menü"
    neg = {r["word"] for r in rows if not r["compound"]}
    assert neg and neg <= {w.lower() for w in SIMPLE + NOUNS}
    assert {r["split"] for r in rows} == {"train", "valid", "test"}
    assert counts["sicherheit"] > 0 and "haus-tür" not in counts


def test_inflections_share_a_lemma_key_and_so_a_split():
    cfg = CompoundDataConfig(lexicon="", min_compounds=1)
    text = "Pivot-Tabelle und Pivot-Tabellen, dazu Daten-Quelle."
    rows, _ = build_pairs([text], cfg, lemmas={"tabellen": "tabelle"})
    keys = {r["word"]: (r["key"], r["split"]) for r in rows}
    assert keys["pivottabelle"] == keys["pivottabellen"] == ("pivot|tabelle", split_of("pivot|tabelle", cfg))


def test_a_language_without_hyphenated_words_is_refused():
    with pytest.raises(NoCompoundsError, match="corpus language 'ja': 0 distinct hyphenated words.*min_compounds"):
        build_pairs(["日本語の設定と文書。"] * 10, CompoundDataConfig(lang="ja", lexicon=""))


def test_the_german_lexicon_is_refused_for_another_language():
    with pytest.raises(ParamsError, match="lexicon 'german-nouns==1.2.5' holds German nouns.*for lang nl"):
        CompoundDataConfig(lang="nl")


def test_lexicon_reads_lemmas_and_forms_and_names_a_bad_header():
    csv_text = ("lemma,pos,genus,genus 1,nominativ singular,nominativ plural\n"
                "Haustür,Substantiv,f,,Haustür,Haustüren\n-ant,\"Affix,Substantiv\",,m,-ant,-anten\n"
                "laufen,Verb,,,laufen,\n")
    lemmas, forms = read_nouns(io.StringIO(csv_text), "nouns.csv")
    assert lemmas == {"haustür"} and forms["haustüren"] == "haustür"
    with pytest.raises(LexiconError, match="nouns.csv: no 'lemma' and 'pos' columns"):
        read_nouns(io.StringIO("word,kind\nHaus,noun\n"), "nouns.csv")
