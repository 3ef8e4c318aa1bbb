"""Test helpers shared by many test modules: the project root, seeded multilingual pseudo-text, dictionaries."""

from __future__ import annotations

import gzip
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
# English pseudo-text, for the source side of word-vector alignment (not part of the shared corpora).
SOURCE_SYLLABLES = {"en": "the and ing ion ent her for tha ter was you ith ver all wit thi".split()}


def make_text(lang: str, n_lines: int, seed: int) -> str:
    """Seeded pseudo-text in the script of `lang`: words of 1-4 syllables, 4-12 words a line."""
    rng = random.Random(f"{lang}-{seed}")
    syl = {**SYLLABLES, **SOURCE_SYLLABLES}[lang]
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


# Mixed-script text for tokenizers sampled in hypernetwork tests.
TEXTS = ["Die schönen Straßen der Stadt, und die Grüße.", "日本語の設定と文書", "ab  cd\n\tef 🙂 Ωμέγα"]


def sampled(base_hf, seed: int = 0):
    """A small tokenizer sampled from TEXTS for the base tokenizer `base_hf` (20-40 pieces)."""
    import numpy as np

    from tokshift.hypernet.sampler import SamplerConfig, SubstringCounts, sample_tokenizer
    from tokshift.tokenization.specials import special_strings

    counts = SubstringCounts(base_hf.backend_tokenizer, 6)
    for text in TEXTS:
        counts.update(text, 1)
    return sample_tokenizer(counts, base_hf.backend_tokenizer, special_strings(base_hf),
                            SamplerConfig(vocab_min=20, vocab_max=40), np.random.default_rng(seed))


def trained_weights(tiny_models, corpus_file, **overrides):
    """(weights, per-step rows) of 3 hypernetwork steps on the tiny Llama, config `overrides` applied."""
    import torch

    from tokshift.core.params import from_dict
    from tokshift.data.corpus import read_corpus
    from tokshift.hypernet.config import TrainConfig
    from tokshift.hypernet.loop import Trainer
    from tokshift.model.base import load_model

    model, tok = load_model(str(tiny_models["llama-tied"]))
    docs = {lang: read_corpus(corpus_file, split="train", lang=lang).column("text").to_pylist()
            for lang in ("de", "ja")}
    cfg = from_dict(TrainConfig, {
        "steps": 3, "batch_size": 2, "seq_len": 16, "langs": ["de", "ja"], "lr": 0.01, "warmup_steps": 1,
        "model": {"n_layers": 1, "hidden": 16, "n_heads": 2},
        "sampler": {"vocab_min": 20, "vocab_max": 40, "cache_texts": 6, "max_piece_chars": 6}, **overrides}, "hypernet")
    trainer = Trainer(cfg, model, tok, docs)
    rows = []
    while trainer.step < cfg.steps:
        rows.append(trainer.lm_step(torch.Generator().manual_seed(trainer.step)))
        trainer.step += 1
    trainer.batches.close()
    return {k: v.clone() for k, v in trainer.core.state_dict().items()}, rows


def free_port() -> str:
    """A TCP port nothing listens on now: torchrun's fixed ports can be taken by another process on a shared
    machine."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


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
