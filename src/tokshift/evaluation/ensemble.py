"""Byte-level ensembles of the original model and transfers of it, on the test split.

Every transfer gives the base model a different tokenizer, so their token probabilities cannot be averaged;
their byte probabilities can (bytelevel/). For each transfer and each of its languages: the byte-level bpb of
the original, of the transfer, and of their mixtures at several weights, on the same bytes. The original is
scored once per language; transfers swap their embeddings into the one loaded base model (reloaded after a
transfer that also changed other weights). Leaves out: ensembles of two transfers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import PreTrainedModel

from tokshift.bytelevel.bpe import ByteBPE
from tokshift.bytelevel.ensemble import COMBINATIONS, bits_per_byte, combine
from tokshift.bytelevel.score import ByteScoreConfig, byte_logprobs
from tokshift.core.device import DEVICES, autocast, is_device_name, resolve_device
from tokshift.core.errors import MissingFileError
from tokshift.core.params import check
from tokshift.data.corpus import capped_texts, split_texts
from tokshift.hypernet.folder import base_fingerprint
from tokshift.model.base import load_model
from tokshift.model.score import bos_id
from tokshift.transfers.folder import apply_transfer, read_meta


@dataclass
class EnsembleEvalConfig:
    transfers: list[str] = field(default_factory=lambda: ["de-bpe-16k/hypernet", "ru-bpe-16k/hypernet",
                                                          "code-bpe-16k/hypernet"])
    """Transfer folders (<tokenizer>/<method> under the transfers folder), each ensembled with the original on
    its tokenizer's languages."""
    weights: list[float] = field(default_factory=lambda: [0.25, 0.5, 0.75])
    """Weights of the original in the mixture; 0.5 (the plain average) is the headline number."""
    max_bytes_per_lang: int = 1500
    """UTF-8 bytes of each language's test split scored (documents in id order, cut at a line)."""
    score: ByteScoreConfig = field(default_factory=ByteScoreConfig)
    """Context window and packing of the byte-level scorer."""
    device: str = "auto"
    """Where the model runs: auto (CUDA when torch sees a GPU, else CPU), cpu, cuda or cuda:N."""
    bf16: bool = True
    """bf16 autocast on CUDA. The CPU always runs float32."""

    def __post_init__(self) -> None:
        check(bool(self.transfers), "transfers", "must name at least one <tokenizer>/<method> folder")
        check(all(0.0 <= w <= 1.0 for w in self.weights) and 0.5 in self.weights, "weights",
              f"must be in [0, 1] and include 0.5, got {self.weights}")
        check(self.max_bytes_per_lang > 0, "max_bytes_per_lang", f"must be > 0, got {self.max_bytes_per_lang}")
        check(is_device_name(self.device), "device", f"must be {DEVICES}, got '{self.device}'")


def ensemble_all(base_dir: Path, transfers_dir: Path, corpus: Path, cfg: EnsembleEvalConfig) -> list[dict]:
    """Rows (transfer, lang, combination, series, weight, bpb, bytes), the weight being the original's: each
    combination's line runs from the transfer alone (weight 0) to the original alone (weight 1)."""
    folders = [transfers_dir / name for name in cfg.transfers]
    for folder in folders:
        if not (folder / "transfer.json").is_file():
            raise MissingFileError(f"{folder}: no transfer.json; ensemble_eval.transfers names <tokenizer>/<method> "
                                   f"folders under {transfers_dir} (run `dvc repro` for them first)")
    device = resolve_device(cfg.device, "ensemble_eval.device")
    model, tok = load_model(str(base_dir), device=device)
    base, start = base_fingerprint(model), bos_id(tok)
    original_bpe = ByteBPE(tok.backend_tokenizer, str(base_dir))
    langs = {folder: read_meta(folder).get("languages") or [] for folder in folders}
    texts, original = {}, {}
    for lang in dict.fromkeys(lang for folder in folders for lang in langs[folder]):
        texts[lang] = capped_texts(split_texts(corpus, "test", lang, "ensemble_eval"), cfg.max_bytes_per_lang)
        original[lang] = score_all(model, original_bpe, start, texts[lang], cfg, device)
    rows = []
    for k, folder in enumerate(folders):
        if k and (folders[k - 1] / "weights.safetensors").exists():  # it changed more than embeddings
            model, _ = load_model(str(base_dir), device=device)
        new_tok = apply_transfer(model, folder, base)
        bpe, name = ByteBPE(new_tok.backend_tokenizer, str(folder)), f"{folder.parent.name}/{folder.name}"
        for lang in langs[folder]:
            own = score_all(model, bpe, bos_id(new_tok), texts[lang], cfg, device)
            data = b"".join(t.encode("utf-8") for t in texts[lang])
            for how in COMBINATIONS:
                for weight in sorted({0.0, 1.0, *cfg.weights}):
                    mixed = combine(original[lang], own, data, weight, how)
                    rows.append({"transfer": name, "lang": lang, "combination": how, "series": f"{lang} {how}",
                                 "weight": weight, "bpb": round(bits_per_byte(mixed), 5), "bytes": len(mixed)})
    return rows


def score_all(model: PreTrainedModel, bpe: ByteBPE, start: int, texts: list[str], cfg: EnsembleEvalConfig,
              device: torch.device) -> list[torch.Tensor]:
    """Next-byte log-distributions ([257] each) at every byte of `texts`, documents one after another."""
    out = []
    for text in texts:
        with autocast(device, cfg.bf16):
            out += byte_logprobs(model, bpe, start, text, cfg.score, keep=True)[1]
    return out
