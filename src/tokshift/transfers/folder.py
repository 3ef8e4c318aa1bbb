"""The transfer folder: a target tokenizer plus the embeddings one method predicted for it.

Layout: the tokenizer files (`save_pretrained`), `embeddings.safetensors` (`input`, plus `output`
for untied models and `bias` for an LM-head bias), `transfer.json` (base model and its
fingerprint, method, target tokenizer, languages, seed, special-token map, method facts) and, when
training after the transfer changed more than the embeddings (adapt with LoRA or all weights),
`weights.safetensors`: those parameters of the base model by their state-dict names.
`write_transfer` writes it atomically; `apply_transfer` swaps it into a loaded base model (refusing one
whose fingerprint differs), so one base serves every transfer.
Leaves out: the full model folder (export.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from tokshift.core.atomic import atomic_dir
from tokshift.core.errors import MissingFileError
from tokshift.core.tensors import load_tensors
from tokshift.hypernet.folder import base_fingerprint, check_fingerprint
from tokshift.model.embeddings import EmbeddingShapeError, set_embeddings


def write_transfer(out_dir: str | Path, tokenizer: PreTrainedTokenizerBase, mats: dict[str, torch.Tensor],
                   meta: dict, weights: dict[str, torch.Tensor] | None = None) -> Path:
    """Write a transfer folder atomically (a killed run leaves the previous one untouched)."""
    with atomic_dir(out_dir) as tmp:
        tokenizer.save_pretrained(tmp)
        save_file(mats, str(tmp / "embeddings.safetensors"))
        if weights:
            save_file({k: v.detach().cpu().contiguous() for k, v in weights.items()}, str(tmp / "weights.safetensors"))
        (tmp / "transfer.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(out_dir)


def read_meta(transfer_dir: str | Path) -> dict:
    """transfer.json of a transfer folder (checked complete), without loading its matrices."""
    transfer_dir = Path(transfer_dir)
    meta_file, emb_file = transfer_dir / "transfer.json", transfer_dir / "embeddings.safetensors"
    if not meta_file.exists() or not emb_file.exists():
        raise MissingFileError(f"{transfer_dir}: not a transfer folder (needs transfer.json and "
                               f"embeddings.safetensors); run `dvc repro transfer` first")
    return json.loads(meta_file.read_text(encoding="utf-8"))


def read_transfer(transfer_dir: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(transfer.json, embedding matrices) of a transfer folder; a clear error if it is incomplete."""
    meta = read_meta(transfer_dir)
    return meta, load_tensors(Path(transfer_dir) / "embeddings.safetensors",
                              "redo the transfer (`dvc repro transfer` or `tokshift transfer`)")


def apply_transfer(model: PreTrainedModel, transfer_dir: str | Path,
                   base: dict | None = None) -> PreTrainedTokenizerBase:
    """Give `model` (the transfer's base model, loaded) the new embeddings in place; returns the new tokenizer.

    `base` is the base model's fingerprint (base_fingerprint), taken from `model` when not given: pass it when
    `model` already carries another transfer. A folder made for another base model is refused.
    """
    transfer_dir = Path(transfer_dir)
    meta, mats = read_transfer(transfer_dir)
    if "base" in meta:  # folders written before the fingerprint was recorded are checked by shape only
        check_fingerprint(meta["base"], base or base_fingerprint(model), f"{transfer_dir}/transfer.json")
    tokenizer = AutoTokenizer.from_pretrained(transfer_dir)
    set_embeddings(model, mats, tokenizer, str(transfer_dir))
    params = dict(model.named_parameters())
    # The base values of weights an earlier transfer replaced (LoRA/all adaptations), restored before this one.
    kept = model.__dict__.setdefault("_tokshift_base_weights", {})
    with torch.no_grad():
        for name, value in kept.items():
            params[name].copy_(value)
    weights_file = transfer_dir / "weights.safetensors"
    if weights_file.exists():
        weights = load_tensors(weights_file, "redo the adaptation (`dvc repro adapt` or `tokshift adapt`)")
        unknown = sorted(set(weights) - set(params))
        if unknown:
            raise EmbeddingShapeError(f"{weights_file}: parameters {unknown[:3]} are not in this model: made for "
                                      f"another base model")
        with torch.no_grad():
            for name, value in weights.items():
                kept.setdefault(name, params[name].detach().clone())
                params[name].copy_(value)
    return tokenizer
