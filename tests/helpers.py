"""Test helpers shared by many test modules: the project root and seeded multilingual pseudo-text."""

from __future__ import annotations

import random
from pathlib import Path

# focus trains fastText, so it has tests of its own and stays out of the shared transfers.
HEURISTICS_FAST = ("fvt", "mean", "random")

ROOT = Path(__file__).resolve().parent.parent

SYLLABLES = {
    "de": "ein der die und sch ung ver ber ste gen lich keit auf mit ä ö ü ß zu".split(),
    "ru": "про ва ни ст ко ра то ли не ен ый ая ое ть ся по за".split(),
    "ja": "の に は を た が で て し る か な い こ と 日 本 語 設 定 文 書".split(),
}


def make_text(lang: str, n_lines: int, seed: int) -> str:
    """Seeded pseudo-text in the script of `lang`: words of 1-4 syllables, 4-12 words a line."""
    rng = random.Random(f"{lang}-{seed}")
    syl = SYLLABLES[lang]
    sep = "" if lang == "ja" else " "
    lines = []
    for _ in range(n_lines):
        words = ["".join(rng.choices(syl, k=rng.randint(1, 4))) for _ in range(rng.randint(4, 12))]
        lines.append(sep.join(words) + ("。" if lang == "ja" else "."))
    return "\n".join(lines)

def files_sources(text_dir: Path) -> list[dict]:
    return [{"kind": "files", "lang": lang, "path": str(text_dir / lang / "*.txt")} for lang in SYLLABLES]


def hyper_for(model, **kw):
    """A seeded small untrained hypernetwork for `model` (1 layer, width 16, up to 7 pieces)."""
    import torch

    from tokshift.hypernet.model import HypernetConfig, Hypernetwork
    from tokshift.model.embeddings import embedding_matrices

    torch.manual_seed(0)
    cfg = HypernetConfig(**{"n_layers": 1, "hidden": 16, "n_heads": 2, "max_pieces": 7, **kw})
    return Hypernetwork(cfg, embedding_matrices(model))
