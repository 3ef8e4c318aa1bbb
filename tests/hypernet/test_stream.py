"""Training text as a pure function of (step, rank); a resumed run rebuilds the caches by replaying steps."""

from __future__ import annotations

from tokshift.hypernet.stream import StreamConfig, TextStream

DOCS = {"de": [f"Zeile {i} des Dokuments\n" * 20 for i in range(30)], "ja": [f"文書{i}の行\n" * 20 for i in range(30)]}
CFG = StreamConfig(langs=["de", "ja"], batch_size=3, chars=40, cache_texts=5, max_piece_chars=4, seed=7)


def test_texts_depend_only_on_step_and_rank(base):
    a, b = TextStream(DOCS, CFG, base, rank=0, world=2), TextStream(DOCS, CFG, base, rank=0, world=2)
    b.texts(5)
    assert a.texts(3) == b.texts(3) and a.texts(3) != a.texts(4)
    assert TextStream(DOCS, CFG, base, rank=1, world=2).texts(3) != a.texts(3), "ranks read different text"
    assert [a.lang(s) for s in range(3)] == ["de", "de", "de"] and TextStream(DOCS, CFG, base, 1, 2).lang(0) == "ja"


def test_replay_rebuilds_the_caches_exactly(base):
    live = TextStream(DOCS, CFG, base, rank=0, world=1)
    for step in range(9):
        live.push(step)
    resumed = TextStream(DOCS, CFG, base, rank=0, world=1)
    resumed.replay(9)
    assert {k: list(v) for k, v in resumed.cache.items()} == {k: list(v) for k, v in live.cache.items()}
    assert all(len(c) == CFG.cache_texts for c in live.cache.values()), "the cache keeps the newest texts"
