"""Sentence embeddings from an encoder: pool its last hidden states (mean or first token), L2-normalised.

How a model pools is saved with it in the sentence-transformers layout (`modules.json` +
`1_Pooling/config.json`), so a folder tokshift writes also loads in sentence-transformers; tokshift
adds the text prefix the model expects (e5: "query: ") to that pooling config. Leaves out: pooling
over causal LMs (their states see only the left context) and instruction templates.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tokshift.core.errors import InputError

POOLINGS = ("mean", "cls")
POOLING_CONFIG = "1_Pooling/config.json"


class PoolingError(InputError):
    """A pooling the model cannot give (a causal LM, an unknown mode, no first special token)."""


def write_pooling(folder: str | Path, mode: str, prefix: str = "") -> None:
    """Record how `folder`'s model pools (sentence-transformers files, plus tokshift's text prefix)."""
    folder = Path(folder)
    width = json.loads((folder / "config.json").read_text(encoding="utf-8"))["hidden_size"]
    (folder / "1_Pooling").mkdir(exist_ok=True)
    config = {"word_embedding_dimension": width, "pooling_mode_mean_tokens": mode == "mean",
              "pooling_mode_cls_token": mode == "cls", "tokshift_prefix": prefix}
    (folder / POOLING_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
    (folder / "modules.json").write_text(json.dumps(modules, indent=2) + "\n", encoding="utf-8")


def read_pooling(folder: str | Path) -> tuple[str, str]:
    """(mode, prefix) saved with a model folder; a folder without one is an error naming the file."""
    path = Path(folder) / POOLING_CONFIG
    if not path.exists():
        raise PoolingError(f"{path}: not found; {folder} is not a sentence-embedding model (set "
                           f"params.yaml: encoder_model.pooling and rebuild it with `dvc repro encoder_model`)")
    config = json.loads(path.read_text(encoding="utf-8"))
    mode = "mean" if config.get("pooling_mode_mean_tokens") else "cls" if config.get("pooling_mode_cls_token") else ""
    if not mode:
        raise PoolingError(f"{path}: pools neither by mean nor by the first token; tokshift supports {POOLINGS}")
    return mode, config.get("tokshift_prefix", "")


def check_pooling(model: PreTrainedModel, mode: str) -> None:
    """Refuse a pooling the model cannot give, naming the model and the mode."""
    if mode not in POOLINGS:
        raise PoolingError(f"pooling '{mode}' is not one of {POOLINGS}")
    if getattr(model.config, "is_decoder", False) or any(
            a.endswith("ForCausalLM") for a in (model.config.architectures or [])):
        raise PoolingError(f"{model.config.model_type} model {model.config.name_or_path or ''}: a causal LM has no "
                           f"'{mode}' pooling (each state sees only the text before it); use an encoder")


def pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """[B, T, d] states, [B, T] mask -> [B, d] L2-normalised sentence embeddings."""
    if mode == "cls":
        out = hidden[:, 0]
    else:
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        out = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
    return torch.nn.functional.normalize(out.float(), dim=-1)


def encoder_states(model: PreTrainedModel, input_ids: torch.Tensor, mask: torch.Tensor,
                   inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
    """Last hidden states of an encoder with or without a head ([B, T, d])."""
    body = getattr(model, "base_model", model)
    if inputs_embeds is not None:
        return body(inputs_embeds=inputs_embeds, attention_mask=mask).last_hidden_state
    return body(input_ids=input_ids, attention_mask=mask).last_hidden_state


@torch.no_grad()
def embed_texts(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: list[str], mode: str = "mean",
                prefix: str = "", batch_size: int = 32, max_length: int = 512) -> torch.Tensor:
    """[N, d] L2-normalised sentence embeddings of `texts` (each given `prefix`), in batches sorted by length."""
    check_pooling(model, mode)
    device = next(model.parameters()).device
    encoded = [tokenizer(prefix + t, truncation=True, max_length=max_length)["input_ids"] for t in texts]
    if mode == "cls" and encoded and encoded[0][0] not in tokenizer.all_special_ids:
        raise PoolingError(f"pooling 'cls' needs a special first token, but the tokenizer does not add one "
                           f"(first id {encoded[0][0]}); use 'mean'")
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
    out = torch.empty(len(texts), model.config.hidden_size)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        width = max(len(encoded[i]) for i in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            ids[r, :len(encoded[i])] = torch.tensor(encoded[i])
            mask[r, :len(encoded[i])] = 1
        hidden = encoder_states(model, ids.to(device), mask.to(device))
        out[rows] = pool(hidden, mask.to(device), mode).cpu()
    return out
