"""Turn a transfer folder into a stock Hugging Face model: the base model with new embeddings and tokenizer.

`apply_transfer(model, transfer_dir)` swaps the embeddings of an already loaded base model in place
(so evaluation loads the base once for every transfer); `export` writes a full folder with
`save_pretrained` (safetensors), the target tokenizer and a model card whose YAML header carries
`base_model`, `method` and `target_tokenizer`. Leaves out: pushing to a hub.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from tokshift.atomic import atomic_dir
from tokshift.base_model import ModelLoadError, load_model

TOKEN_ID_FIELDS = ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id")


def read_transfer(transfer_dir: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(transfer.json, embedding matrices) of a transfer folder; a clear error if it is incomplete."""
    meta_file, emb_file = transfer_dir / "transfer.json", transfer_dir / "embeddings.safetensors"
    if not meta_file.exists() or not emb_file.exists():
        raise ModelLoadError(f"{transfer_dir}: not a transfer folder (needs transfer.json and "
                             f"embeddings.safetensors); run `dvc repro transfer` first")
    return json.loads(meta_file.read_text(encoding="utf-8")), load_file(str(emb_file))


def apply_transfer(model: PreTrainedModel, transfer_dir: str | Path) -> PreTrainedTokenizerBase:
    """Give `model` (the transfer's base model, loaded) the new embeddings in place; returns the new tokenizer."""
    transfer_dir = Path(transfer_dir)
    _, mats = read_transfer(transfer_dir)
    tokenizer = AutoTokenizer.from_pretrained(transfer_dir)
    set_embeddings(model, mats, tokenizer, str(transfer_dir))
    return tokenizer


def set_embeddings(model: PreTrainedModel, mats: dict[str, torch.Tensor], tokenizer: PreTrainedTokenizerBase,
                   where: str = "embeddings") -> None:
    """Swap in `mats` ('input', optional 'output'/'bias') and remap the config's special-token ids to `tokenizer`."""
    n, dim = mats["input"].shape
    if dim != model.get_input_embeddings().weight.shape[1]:
        raise ModelLoadError(f"{where}: embeddings have width {dim}, the model "
                             f"{model.get_input_embeddings().weight.shape[1]}: made for another base model")
    model.resize_token_embeddings(n, mean_resizing=False)
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(mats["input"])
        head = model.get_output_embeddings()
        if "output" in mats:
            head.weight.copy_(mats["output"])
        if "bias" in mats:
            head.bias = torch.nn.Parameter(mats["bias"].clone())
    for cfg in (model.config, getattr(model, "generation_config", None)):
        if cfg is None:
            continue
        for field in TOKEN_ID_FIELDS:
            token = getattr(tokenizer, field[: -len("_id")], None)
            if hasattr(cfg, field) or token is not None:
                setattr(cfg, field, tokenizer.convert_tokens_to_ids(token) if token is not None else None)
    model.config.vocab_size = n


def model_card(meta: dict, metrics: dict | None = None) -> str:
    """README.md with the YAML header a model hub reads."""
    header = {"base_model": meta["base_model"], "library_name": "transformers", "method": meta["method"],
              "target_tokenizer": meta["target_tokenizer"], "language": meta.get("languages", []),
              "tags": ["tokshift", "tokenizer-transfer"], "metrics": metrics or {}}
    body = (f"# {Path(meta['target_tokenizer']).name} ({meta['method']})\n\n"
            f"`{meta['base_model']}` moved onto the tokenizer `{meta['target_tokenizer']}` by tokshift with the "
            f"`{meta['method']}` embedding initialisation. Load it with "
            f"`AutoModelForCausalLM.from_pretrained` and `AutoTokenizer.from_pretrained`.\n")
    return f"---\n{yaml.safe_dump(header, sort_keys=False, allow_unicode=True)}---\n\n{body}"


def export(transfer_dir: str | Path, out_dir: str | Path, base_model: str | Path | None = None,
           dtype: torch.dtype = torch.float32, metrics: dict | None = None) -> Path:
    """Write a stock model folder for a transfer folder (base model from transfer.json unless given).

    `metrics` (e.g. this model's entry of metrics/evaluate.json) go into the model card header.
    """
    transfer_dir = Path(transfer_dir)
    meta, _ = read_transfer(transfer_dir)
    model, _ = load_model(str(base_model or meta["base_model"]))
    tokenizer = apply_transfer(model, transfer_dir)
    with atomic_dir(out_dir) as tmp:
        model.to(dtype).save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "README.md").write_text(model_card(meta, metrics), encoding="utf-8")
    return Path(out_dir)
