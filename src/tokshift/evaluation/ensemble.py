"""Byte-level ensembles of the original model and a transfer of it, audited with controls, on the shared sample.

Every transfer gives the base model a different tokenizer, so their token probabilities cannot be averaged;
their byte probabilities can (bytelevel/). For each transfer and each of its languages, the original is
combined per byte with the transfer and, on the same bytes, with controls that know less: other transfers
to the same tokenizer (`random`: embeddings that know nothing; `fvt`) and `vocabulary`, a model that knows only
the tokenizer's token frequencies (bytelevel/vocabulary.py). A gain that the controls also get is the target
vocabulary's prior, not the second model's knowledge. For each combination (mixture, product) the original's
weight is picked on the valid sample and reported on the test sample, with intervals over documents: bpb,
and the paired relative difference to the better of the two models alone. Every model's per-byte bpb is also
set against its token-level bpb on the same chunks: mass counted twice or leaked would show as a gap.
Leaves out: ensembles of two transfers, weights that change along the text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tokshift.bytelevel.bpe import ByteBPE
from tokshift.bytelevel.ensemble import combine
from tokshift.bytelevel.score import ByteScoreConfig, byte_logprobs
from tokshift.bytelevel.vocabulary import vocabulary_model
from tokshift.core.device import DEVICES, autocast, is_device_name, resolve_device
from tokshift.core.errors import MissingFileError
from tokshift.core.params import check
from tokshift.data.corpus import capped_texts, split_texts
from tokshift.data.samples import sample_chunks
from tokshift.hypernet.folder import base_fingerprint
from tokshift.model.base import load_model
from tokshift.model.score import ScoreConfig, bos_id, score_texts
from tokshift.transfers.folder import apply_transfer, read_meta

VOCABULARY = "vocabulary"


@dataclass
class EnsembleEvalConfig:
    transfers: list[str] = field(default_factory=lambda: ["ru-bpe-16k/hypernet"])
    """Transfer folders (<tokenizer>/<method> under the transfers folder), each ensembled with the original on
    its tokenizer's languages."""
    controls: list[str] = field(default_factory=lambda: ["random", "fvt", VOCABULARY])
    """Second models ensembled with the original in the same way: <tokenizer>/<method> transfers of each transfer's
    tokenizer, and `vocabulary` (the tokenizer's token frequencies alone)."""
    weights: list[float] = field(default_factory=lambda: [0.25, 0.5, 0.75])
    """Weights of the original tried; the one with the lowest valid bpb is reported on test (0.5 too)."""
    max_bytes_per_lang: int = 4_000
    """UTF-8 bytes of each language's test sample scored (whole chunks in draw order)."""
    valid_max_bytes: int = 2000
    """UTF-8 bytes of each language's valid sample on which the weights are picked."""
    vocabulary_max_bytes: int = 1_000_000
    """Train text (UTF-8 bytes) whose token counts make the vocabulary-only model."""
    draws: int = 2000
    """Bootstrap resamples (of documents) behind every interval."""
    score: ByteScoreConfig = field(default_factory=ByteScoreConfig)
    """Context window and packing of the byte-level scorer."""
    device: str = "auto"
    """Where the model runs: auto (CUDA when torch sees a GPU, else CPU), cpu, cuda or cuda:N."""
    bf16: bool = True
    """bf16 autocast (matrix products; losses stay float32) on CUDA and on bf16-native CPUs (core.device.uses_bf16)."""

    def __post_init__(self) -> None:
        check(bool(self.transfers), "transfers", "must name at least one <tokenizer>/<method> folder")
        check(bool(self.weights) and all(0.0 < w < 1.0 for w in self.weights) and 0.5 in self.weights, "weights",
              f"must be in (0, 1) and include 0.5, got {self.weights}")
        for name in ("max_bytes_per_lang", "valid_max_bytes", "vocabulary_max_bytes"):
            check(getattr(self, name) > 0, name, f"must be > 0, got {getattr(self, name)}")
        check(is_device_name(self.device), "device", f"must be {DEVICES}, got '{self.device}'")


@dataclass
class Scored:
    """One model's scores of a sample's chunks: next-byte log-distributions ([bytes, 257]) and bits, per chunk."""
    dists: list[torch.Tensor]
    byte_bits: list[float]
    token_bits: list[float]


def score_chunks(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, bpe: ByteBPE, chunks: list[dict],
                 cfg: EnsembleEvalConfig, device: torch.device, desc: str) -> Scored:
    """Per-byte distributions (each chunk its own text after BOS) and the token-level bits of the same chunks."""
    dists, byte_bits = [], []
    with autocast(device, cfg.bf16):
        for chunk in chunks:
            full = torch.stack(byte_logprobs(model, bpe, bos_id(tokenizer), chunk["text"], cfg.score, keep=True)[1])
            dists.append(full.double())
            # from the kept distributions, so a model combined with itself gives exactly itself
            index = torch.tensor(list(chunk["text"].encode("utf-8")))[:, None]
            byte_bits.append(-dists[-1].gather(1, index).sum().item() / math.log(2))
        token = score_texts(model, tokenizer, [c["text"] for c in chunks],
                            ScoreConfig(cfg.score.window, cfg.score.stride), desc=desc)
    return Scored(dists, byte_bits, token.doc_bits)


def combined_bits(a: Scored, b: Scored, chunks: list[dict], weight: float, how: str) -> list[float]:
    """Bits of every chunk under the per-byte combination of two models (weight: a's)."""
    return [-sum(combine(list(da), list(db), c["text"].encode("utf-8"), weight, how)) / math.log(2)
            for da, db, c in zip(a.dists, b.dists, chunks, strict=True)]


def vocabulary_texts(corpus: Path, langs: list[str], max_bytes: int) -> list[str]:
    """Train text of the tokenizer's languages for the vocabulary-only model's counts (shared out equally)."""
    return [t for lang in langs for t in capped_texts(split_texts(corpus, "train", lang, "ensemble_eval.transfers"),
                                                      max_bytes // len(langs))]


def ensemble_all(base_dir: Path, transfers_dir: Path, samples: Path, corpus: Path, cfg: EnsembleEvalConfig
                 ) -> dict[str, dict]:
    """{transfer: {lang: {"chunks": {split: [...]}, "original": Scored per split, "seconds": {name: Scored per
    split}}}}: everything the audit (evaluation/ensemble_audit.py) needs, the second models being the transfer
    and its controls."""
    folders = [transfers_dir / name for name in cfg.transfers]
    for folder in folders:
        if not (folder / "transfer.json").is_file():
            raise MissingFileError(f"{folder}: no transfer.json; ensemble_eval.transfers names <tokenizer>/<method> "
                                   f"folders under {transfers_dir} (run `dvc repro` for them first)")
    device = resolve_device(cfg.device, "ensemble_eval.device")
    model, tok = load_model(str(base_dir), device=device)
    base, original_bpe = base_fingerprint(model), ByteBPE(tok.backend_tokenizer, str(base_dir))
    langs = {folder: read_meta(folder).get("languages") or [] for folder in folders}
    chunks, original = {}, {}
    for lang in dict.fromkeys(lang for folder in folders for lang in langs[folder]):
        chunks[lang] = {split: sample_chunks(samples, split, lang, "ensemble_eval.transfers", max_bytes)
                        for split, max_bytes in (("valid", cfg.valid_max_bytes), ("test", cfg.max_bytes_per_lang))}
        original[lang] = {split: score_chunks(model, tok, original_bpe, part, cfg, device, f"original/{lang}")
                          for split, part in chunks[lang].items()}
    out: dict[str, dict] = {}
    changed = False  # the loaded model holds more than the base's weights (a transfer with weights.safetensors)
    for folder in folders:
        seconds = [folder] + [folder.parent / c for c in cfg.controls if c not in (VOCABULARY, folder.name)]
        missing = [s for s in seconds if not (s / "transfer.json").is_file()]
        if missing:
            raise MissingFileError(f"{missing[0]}: no transfer.json; ensemble_eval.controls names methods transferred "
                                   f"to {folder.parent.name} (add them to params.yaml: transfer.methods)")
        name = f"{folder.parent.name}/{folder.name}"
        out[name] = {lang: {"chunks": chunks[lang], "original": original[lang], "seconds": {}}
                     for lang in langs[folder]}
        for second in seconds:
            if changed:
                model, _ = load_model(str(base_dir), device=device)
            new_tok = apply_transfer(model, second, base)
            changed = (second / "weights.safetensors").exists()
            bpe = ByteBPE(new_tok.backend_tokenizer, str(second))
            for lang in langs[folder]:
                out[name][lang]["seconds"][second.name] = {
                    split: score_chunks(model, new_tok, bpe, part, cfg, device, f"{second.name}/{lang}")
                    for split, part in chunks[lang].items()}
        if VOCABULARY in cfg.controls:
            corpus_texts = vocabulary_texts(corpus, langs[folder], cfg.vocabulary_max_bytes)
            vocab_model = vocabulary_model(new_tok.backend_tokenizer, corpus_texts).to(device)
            bpe = ByteBPE(new_tok.backend_tokenizer, str(folder))
            for lang in langs[folder]:
                out[name][lang]["seconds"][VOCABULARY] = {
                    split: score_chunks(vocab_model, new_tok, bpe, part, cfg, device, f"vocabulary/{lang}")
                    for split, part in chunks[lang].items()}
    return out
