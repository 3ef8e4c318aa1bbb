"""Aligned word spaces from a corpus and a dictionary: every dictionary pair counted and scored, a language
without a dictionary skipped with the reason, the folder read back as one space, worker processes identical.
(How well a map aligns is tested on known rotations in test_alignment.py.)"""

import random

import numpy as np
import pytest

from tests.helpers import SOURCE_SYLLABLES, SYLLABLES, write_dictd
from tokshift.core.errors import InputError
from tokshift.data import dictionaries
from tokshift.heuristics.spaces import WechselConfig, build_spaces, load_space
from tokshift.heuristics.word_vectors import WordVectorConfig

WORDS = 150


def lexicon(lang: str) -> list[str]:
    rng, syl, out = random.Random(f"lexicon-{lang}"), {**SYLLABLES, **SOURCE_SYLLABLES}[lang], []
    while len(out) < WORDS:
        word = "".join(rng.choices(syl, k=rng.randint(2, 3)))
        out += [word] if word not in out else []
    return out


def sentences(seed: int, n: int) -> list[list[int]]:
    """Word indices from one Markov chain over words placed in a hidden 4-d space (the next word is likely near
    the last one), so co-occurrence has the low-rank structure word vectors recover in any language."""
    latent = np.random.default_rng(0).normal(size=(WORDS, 4))
    logits = latent @ latent.T * 2.0
    np.fill_diagonal(logits, -np.inf)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    rng, out = np.random.default_rng(seed), []
    for _ in range(n):
        words = [int(rng.integers(WORDS))]
        for _ in range(int(rng.integers(5, 12))):
            words.append(min(int(np.searchsorted(cumulative[words[-1]], rng.random())), WORDS - 1))
        out.append(words)
    return out


@pytest.fixture(scope="module")
def cipher_corpus(tmp_path_factory):
    """English and German pseudo-text from one process, German words a fixed translation of English ones."""
    from tokshift.core.params import from_dict
    from tokshift.data.corpus import CorpusConfig, build_corpus

    root = tmp_path_factory.mktemp("cipher")
    words = {lang: lexicon(lang) for lang in ("en", "de")}
    for lang in words:
        (root / lang).mkdir()
        for doc in range(40):
            lines = [" ".join(words[lang][i] for i in s) + "." for s in sentences(2 * doc + (lang == "de"), 120)]
            (root / lang / f"{doc}.txt").write_text("\n".join(lines), encoding="utf-8")
    cfg = from_dict(CorpusConfig, {"sources": [{"kind": "files", "lang": lang, "path": str(root / lang / "*.txt")}
                                               for lang in words], "min_doc_chars": 10}, "test")
    build_corpus(cfg, root / "corpus.parquet")
    raw = root / "raw"
    write_dictd(raw, "eng-deu", {en: f"{en} /x/\n{de}\n" for en, de in zip(words["en"], words["de"], strict=True)})
    return root / "corpus.parquet", raw


def config(cluster: str = "none") -> WechselConfig:
    return WechselConfig(languages=["de", "ko"], vectors=WordVectorConfig(dim=16, epochs=10, min_count=1,
                                                                          buckets=20000), cluster=cluster)


@pytest.fixture(scope="module")
def spaces(cipher_corpus, tmp_path_factory):
    corpus, raw = cipher_corpus
    out = tmp_path_factory.mktemp("spaces") / "word_vectors"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dictionaries, "package_exists", lambda package: False)  # only what is downloaded exists
        return out, build_spaces(corpus, raw, out, config())


def test_every_dictionary_pair_is_found_and_the_alignment_scored(spaces):
    _, metrics = spaces
    de = metrics["de"]
    assert de["dictionary_pairs"] == WORDS and de["known_pairs"] == WORDS and de["heldout_words"] == WORDS // 5
    assert 0 <= de["heldout_precision_at_1"] <= 1 and de["fit_words"] == WORDS - WORDS // 5
    assert metrics["en"]["train_words"] > 5000 and metrics["en"]["vocabulary"] == WORDS
    assert list(metrics) == ["en", "de", "ko"]


def test_a_language_without_a_dictionary_is_skipped_with_the_reason(spaces):
    out, metrics = spaces
    assert metrics["ko"] == {"skipped": "no bilingual dictionary between English and ko: Debian has none of "
                                        "dict-freedict-eng-kor, dict-freedict-kor-eng; WECHSEL needs one to align "
                                        "the two languages"}
    assert sorted(p.name for p in out.iterdir()) == ["de.alignment.safetensors", "de.bin", "en.bin"]
    with pytest.raises(InputError, match=r"no alignment of 'ko' to 'en'; add ko to params.yaml: wechsel.languages"):
        load_space(out, "en", "ko")


def test_the_folder_reads_back_as_one_space(spaces):
    out, _ = spaces
    source, target, alignment = load_space(out, "en", "de")
    assert len(source.words) == len(target.words) == WORDS + 1  # and fastText's end-of-line word </s>
    mapped = alignment.source(np.stack([source.get_word_vector(w) for w in lexicon("en")[:5]]))
    there = alignment.target(np.stack([target.get_word_vector(w) for w in lexicon("de")[:5]]))
    assert mapped.shape == there.shape == (5, 16)
    assert np.allclose(np.linalg.norm(there, axis=1), 1.0) and np.allclose(np.linalg.norm(mapped, axis=1), 1.0)


def test_worker_processes_give_the_same_files(spaces, cipher_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(dictionaries, "package_exists", lambda package: False)
    out, metrics = spaces
    fanned = build_spaces(*cipher_corpus, tmp_path / "wv", config(cluster="local:2"))
    for name in ("en.bin", "de.bin", "de.alignment.safetensors"):
        assert (tmp_path / "wv" / name).read_bytes() == (out / name).read_bytes(), name
    assert {k: {m: v for m, v in e.items() if m != "seconds"} for k, e in fanned.items()} == \
        {k: {m: v for m, v in e.items() if m != "seconds"} for k, e in metrics.items()}
