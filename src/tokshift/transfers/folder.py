"""The transfer folder: a target tokenizer plus the embeddings one method predicted for it.

Layout: the tokenizer files (`save_pretrained`), `embeddings.safetensors` (`input`, plus `output`
for untied models and `bias` for an LM-head bias) and `transfer.json` (base model, method, target
tokenizer, languages, seed, special-token map, method facts). `write_transfer` writes it atomically;
`apply_transfer` swaps it into a loaded base model, so one base serves every transfer.
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
from tokshift.model.embeddings import set_embeddings


def write_transfer(out_dir: str | Path, tokenizer: PreTrainedTokenizerBase, mats: dict[str, torch.Tensor],
                   meta: dict) -> Path:
    """Write a transfer folder atomically (a killed run leaves the previous one untouched)."""
    with atomic_dir(out_dir) as tmp:
        tokenizer.save_pretrained(tmp)
        save_file(mats, str(tmp / "embeddings.safetensors"))
        (tmp / "transfer.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(out_dir)


def read_transfer(transfer_dir: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(transfer.json, embedding matrices) of a transfer folder; a clear error if it is incomplete."""
    transfer_dir = Path(transfer_dir)
    meta_file, emb_file = transfer_dir / "transfer.json", transfer_dir / "embeddings.safetensors"
    if not meta_file.exists() or not emb_file.exists():
        raise MissingFileError(f"{transfer_dir}: not a transfer folder (needs transfer.json and "
                               f"embeddings.safetensors); run `dvc repro transfer` first")
    return (json.loads(meta_file.read_text(encoding="utf-8")),
            load_tensors(emb_file, "redo the transfer (`dvc repro transfer` or `tokshift transfer`)"))


def apply_transfer(model: PreTrainedModel, transfer_dir: str | Path) -> PreTrainedTokenizerBase:
    """Give `model` (the transfer's base model, loaded) the new embeddings in place; returns the new tokenizer."""
    transfer_dir = Path(transfer_dir)
    _, mats = read_transfer(transfer_dir)
    tokenizer = AutoTokenizer.from_pretrained(transfer_dir)
    set_embeddings(model, mats, tokenizer, str(transfer_dir))
    return tokenizer
