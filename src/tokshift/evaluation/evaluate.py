"""Evaluate transfers: bits per byte and tokens of the original model and every transfer on the test split.

Bits per byte are comparable across tokenizers (the bytes are the same); tokens show how much each
tokenizer shortens the text. The base model is loaded once and each transfer swaps its embeddings
in place. Leaves out: the scorer itself (model/score.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tokshift.core.device import DEVICES, autocast, is_device_name, resolve_device
from tokshift.core.params import check
from tokshift.data.corpus import capped_texts, split_texts
from tokshift.hypernet.folder import base_fingerprint
from tokshift.model.base import load_model
from tokshift.model.score import ScoreConfig, score_texts
from tokshift.transfers.folder import apply_transfer, read_meta


@dataclass
class EvaluateConfig:
    langs: list[str] = field(default_factory=lambda: ["de", "ru", "ja", "code", "en", "zh"])
    """Languages scored; the original tokenizer gets all, a transferred model those of its tokenizer."""
    max_bytes_per_lang: int = 8000
    """UTF-8 bytes of each language's test split that are scored (documents in id order, cut at a line)."""
    score: ScoreConfig = field(default_factory=ScoreConfig)
    """Windowing and batching of the scorer."""
    device: str = "auto"
    """Where the model runs: auto (CUDA when torch sees a GPU, else CPU), cpu, cuda or cuda:N."""
    bf16: bool = True
    """bf16 autocast on CUDA (matrix products; losses stay float32). The CPU always runs float32."""

    def __post_init__(self) -> None:
        check(bool(self.langs), "langs", "must name at least one language")
        check(self.max_bytes_per_lang > 0, "max_bytes_per_lang", f"must be > 0, got {self.max_bytes_per_lang}")
        check(is_device_name(self.device), "device", f"must be {DEVICES}, got '{self.device}'")


def evaluate_all(base_dir: Path, transfer_dirs: list[Path], corpus: Path, cfg: EvaluateConfig) -> list[dict]:
    """Rows (model, method, tokenizer, lang, bpb, tokens, bytes, tokens_per_byte): original first, then transfers.

    The base model is loaded once; each transfer swaps its embeddings in place.
    """
    device = resolve_device(cfg.device, "evaluate.device")
    texts = {}
    for lang in cfg.langs:
        texts[lang] = capped_texts(split_texts(corpus, "test", lang, "evaluate.langs"), cfg.max_bytes_per_lang)
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
            with autocast(device, cfg.bf16):
                score = score_texts(model, tok, texts[lang], cfg.score, desc=f"{name}/{method}/{lang}")
            rows.append({"model": f"{name}/{method}", "tokenizer": name, "method": method, "lang": lang,
                         "label": f"{lang} {name}/{method}", **score.as_dict()})
    return rows
