"""Turn a transfer folder into a stock Hugging Face model: the base model with new embeddings and tokenizer.

`export` writes a full folder with `save_pretrained` (safetensors), the target tokenizer and a
model card whose YAML header carries `base_model`, `method` and `target_tokenizer`; a sentence-embedding
encoder keeps its pooling files (model/pooling.py). Leaves out: pushing to a hub.
"""

from __future__ import annotations

from pathlib import Path

import torch
import yaml

from tokshift.core.atomic import atomic_dir
from tokshift.model.base import is_headless_encoder, is_masked_lm, load_model
from tokshift.model.pooling import POOLING_CONFIG, read_pooling, write_pooling
from tokshift.transfers.folder import apply_transfer, read_transfer


def auto_class(config) -> str:
    """The stock Auto class that loads a model of this config ('AutoModelForCausalLM', 'AutoModel', ...)."""
    if is_masked_lm(config):
        return "AutoModelForMaskedLM"
    return "AutoModel" if is_headless_encoder(config) else "AutoModelForCausalLM"


def model_card(meta: dict, metrics: dict | None = None, auto: str = "AutoModelForCausalLM") -> str:
    """README.md with the YAML header a model hub reads."""
    header = {"base_model": meta["base_model"], "library_name": "transformers", "method": meta["method"],
              "target_tokenizer": meta["target_tokenizer"], "language": meta.get("languages", []),
              "tags": ["tokshift", "tokenizer-transfer"], "metrics": metrics or {}}
    if "adapt" in meta:  # continued training: from which init, how long, what trained
        header["adapt"] = {k: meta["adapt"][k] for k in ("init", "steps", "tokens", "train") if k in meta["adapt"]}
    body = (f"# {Path(meta['target_tokenizer']).name} ({meta['method']})\n\n"
            f"`{meta['base_model']}` moved onto the tokenizer `{meta['target_tokenizer']}` by tokshift with the "
            f"`{meta['method']}` embedding initialisation. Load it with "
            f"`{auto}.from_pretrained` and `AutoTokenizer.from_pretrained`.\n")
    return f"---\n{yaml.safe_dump(header, sort_keys=False, allow_unicode=True)}---\n\n{body}"


def export(transfer_dir: str | Path, out_dir: str | Path, base_model: str | Path | None = None,
           dtype: torch.dtype = torch.float32, metrics: dict | None = None) -> Path:
    """Write a stock model folder for a transfer folder (base model from transfer.json unless given).

    `metrics` (e.g. this model's entry of metrics/evaluate.json) go into the model card header.
    """
    transfer_dir = Path(transfer_dir)
    meta, _ = read_transfer(transfer_dir)  # first: a damaged folder is named before the model loads
    base_dir = Path(base_model or meta["base_model"])
    model, _ = load_model(str(base_dir))
    tokenizer = apply_transfer(model, transfer_dir)
    with atomic_dir(out_dir) as tmp:
        model.to(dtype).save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        if (base_dir / POOLING_CONFIG).exists():
            write_pooling(tmp, *read_pooling(base_dir))
        (tmp / "README.md").write_text(model_card(meta, metrics, auto_class(model.config)), encoding="utf-8")
    return Path(out_dir)
