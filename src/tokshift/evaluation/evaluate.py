"""Evaluate transfers: bits per byte of every test chunk, for the original model and every transfer.

The chunks are the shared test sample (data/samples.py): paragraph-aligned pieces of many documents,
each scored as its own text after the model's BOS. Bits per byte compare across tokenizers (the bytes
are the same); tokens show how much each tokenizer shortens the text. The base model is loaded once
and each transfer swaps its embeddings in place. Weak baselines (`control_methods`) are scored on the
first chunks of the sample only (still spread over documents). Per-chunk rows go to Parquet; their
summaries with intervals are evaluation/compare.py. Leaves out: the scorer itself (model/score.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tokshift.core.device import DEVICES, autocast, is_device_name, resolve_device
from tokshift.core.params import check
from tokshift.data.samples import prefix, sample_chunks, size
from tokshift.hypernet.folder import base_fingerprint
from tokshift.model.base import load_model
from tokshift.model.score import ScoreConfig, score_texts
from tokshift.transfers.folder import apply_transfer, read_meta


@dataclass
class EvaluateConfig:
    langs: list[str] = field(default_factory=lambda: ["de", "ru", "ja", "code", "en", "zh"])
    """Languages scored; the original tokenizer gets all, a transferred model those of its tokenizer."""
    max_bytes_per_lang: int = 0
    """UTF-8 bytes of each language's test sample that are scored (whole chunks in draw order); 0: all of it."""
    control_methods: list[str] = field(default_factory=lambda: ["random", "mean", "focus"])
    """Weak baselines, scored on the first `control_max_bytes` of each sample only."""
    control_max_bytes: int = 6000
    """UTF-8 bytes of the sample scored for a control method."""
    draws: int = 2000
    """Bootstrap resamples (of documents) behind every interval."""
    score: ScoreConfig = field(default_factory=ScoreConfig)
    """Windowing and batching of the scorer."""
    device: str = "auto"
    """Where the model runs: auto (CUDA when torch sees a GPU, else CPU), cpu, cuda or cuda:N."""
    bf16: bool = True
    """bf16 autocast (matrix products; losses stay float32) on CUDA and on bf16-native CPUs (core.device.uses_bf16)."""

    def __post_init__(self) -> None:
        check(bool(self.langs), "langs", "must name at least one language")
        check(self.max_bytes_per_lang >= 0, "max_bytes_per_lang", f"must be >= 0, got {self.max_bytes_per_lang}")
        check(self.control_max_bytes > 0, "control_max_bytes", f"must be > 0, got {self.control_max_bytes}")
        check(self.draws >= 100, "draws", f"must be >= 100, got {self.draws}")
        check(is_device_name(self.device), "device", f"must be {DEVICES}, got '{self.device}'")


def evaluate_all(base_dir: Path, transfer_dirs: list[Path], samples: Path, cfg: EvaluateConfig) -> list[dict]:
    """Per-chunk rows (model, tokenizer, method, lang, doc_id, chunk, bits, bytes, tokens): original first, then
    every transfer on its tokenizer's languages. The base model is loaded once; each transfer swaps its embeddings.
    """
    device = resolve_device(cfg.device, "evaluate.device")
    chunks = {lang: sample_chunks(samples, "test", lang, "evaluate.langs", cfg.max_bytes_per_lang)
              for lang in cfg.langs}
    model, tok = load_model(str(base_dir), device=device)
    base = base_fingerprint(model)  # before any transfer changes the model
    rows = []
    for t_dir in [None, *transfer_dirs]:
        if t_dir is None:
            name, method, langs = "original", "original", cfg.langs
        else:
            meta = read_meta(t_dir)
            tok = apply_transfer(model, t_dir, base)
            name, method = Path(meta["target_tokenizer"]).name, meta["method"]
            langs = [lang for lang in meta.get("languages") or cfg.langs if lang in cfg.langs]
        for lang in langs:
            part = prefix(chunks[lang], cfg.control_max_bytes) if method in cfg.control_methods else chunks[lang]
            with autocast(device, cfg.bf16):
                score = score_texts(model, tok, [c["text"] for c in part], cfg.score, desc=f"{name}/{method}/{lang}")
            for c, bits, tokens in zip(part, score.doc_bits, score.doc_tokens, strict=True):
                rows.append({"model": f"{name}/{method}", "tokenizer": name, "method": method, "lang": lang,
                             "doc_id": c["doc_id"], "chunk": c["chunk"], "bits": bits, "bytes": size(c["text"]),
                             "tokens": tokens})
    return rows
