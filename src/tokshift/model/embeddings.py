"""A model's embedding matrices by role: read them, find their parameters, swap new ones in.

Roles: 'input' [V, d]; 'output' [V, d] only when the LM head is not tied to the input embeddings (or a
transfer unties a tied base: matrices with 'output' untie the head, matrices without it tie it);
'bias' [V] only when the LM head has a bias. Every transfer method produces exactly these roles.
Leaves out: how new matrices are computed (heuristics/, hypernet/).
"""

from __future__ import annotations

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tokshift.core.errors import TokshiftError

TOKEN_ID_FIELDS = ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id")


class EmbeddingShapeError(TokshiftError, ValueError):
    """Embedding matrices whose width does not match the model's (made for another base model)."""


def tied_head(model: PreTrainedModel) -> bool:
    """True when the LM head shares its weight with the input embeddings (or there is no head)."""
    head = model.get_output_embeddings()
    return head is None or head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()


def embedding_matrices(model: PreTrainedModel) -> dict[str, torch.Tensor]:
    """{'input': [V, d]} plus 'output' (untied models) and 'bias' (LM heads with a bias)."""
    mats = {"input": model.get_input_embeddings().weight.detach()}
    head = model.get_output_embeddings()
    if not tied_head(model):
        mats["output"] = head.weight.detach()
    bias = getattr(head, "bias", None) if head is not None else None
    if bias is not None:
        mats["bias"] = bias.detach()
    return mats


def scaled(model: PreTrainedModel, rows: torch.Tensor) -> torch.Tensor:
    """Input-embedding rows as the model's own embedding layer returns them, for `inputs_embeds`: Gemma 3 multiplies
    by sqrt(hidden) inside that layer, which a model given inputs_embeds never runs. Others: `rows` unchanged."""
    scale = getattr(model.get_input_embeddings(), "embed_scale", None)
    return rows if scale is None else rows * scale.to(device=rows.device, dtype=rows.dtype)


def param_names(model: PreTrainedModel) -> dict[str, str]:
    """{'input': name of the input-embedding weight, 'output' (the head's weight: its own name even when tied),
    'bias' (LM-head bias)}."""
    modules = {id(m): n for n, m in model.named_modules(remove_duplicate=False)}
    names = {"input": f"{modules[id(model.get_input_embeddings())]}.weight"}
    head = model.get_output_embeddings()
    if head is not None:
        names["output"] = f"{modules[id(head)]}.weight"
    if head is not None and getattr(head, "bias", None) is not None:
        names["bias"] = f"{modules[id(head)]}.bias"
    return names


def embedding_param_ids(model: PreTrainedModel) -> set[int]:
    """ids of the input-embedding, output-embedding and LM-head bias parameters (a tied matrix once): which
    parameters are the embeddings, whatever names a wrapper (peft) gives them."""
    head = model.get_output_embeddings()
    found = [model.get_input_embeddings().weight, getattr(head, "weight", None), getattr(head, "bias", None)]
    return {id(p) for p in found if p is not None}


def embedding_params(model: PreTrainedModel, mats: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """{parameter name: matrix} to swap matrices into `model` with torch.func.functional_call (tie_weights=False:
    an 'output' matrix for a tied model replaces the head alone; without one, the head is the input matrix)."""
    names = param_names(model)
    params = {names[k]: v for k, v in mats.items() if k in names}
    if "output" not in mats and "output" in names:
        params[names["output"]] = mats["input"]
    return params


def set_embeddings(model: PreTrainedModel, mats: dict[str, torch.Tensor], tokenizer: PreTrainedTokenizerBase,
                   where: str = "embeddings") -> None:
    """Swap in `mats` ('input', optional 'output'/'bias') and remap the config's special-token ids to `tokenizer`."""
    n, dim = mats["input"].shape
    if dim != model.get_input_embeddings().weight.shape[1]:
        raise EmbeddingShapeError(f"{where}: embeddings have width {dim}, the model "
                             f"{model.get_input_embeddings().weight.shape[1]}: made for another base model")
    retie(model, tied="output" not in mats)
    model.resize_token_embeddings(n, mean_resizing=False)
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(mats["input"])
        head = model.get_output_embeddings()
        if "output" in mats:
            head.weight.copy_(mats["output"])
        if "bias" in mats:
            head.bias = torch.nn.Parameter(mats["bias"].clone())
    set_token_ids(model, tokenizer)
    model.config.vocab_size = n


def set_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """config and generation_config bos/eos/pad/unk ids: the tokenizer's (None where it has no such token)."""
    for cfg in (model.config, getattr(model, "generation_config", None)):
        if cfg is None:
            continue
        for field in TOKEN_ID_FIELDS:
            token = getattr(tokenizer, field[: -len("_id")], None)
            if hasattr(cfg, field) or token is not None:
                setattr(cfg, field, tokenizer.convert_tokens_to_ids(token) if token is not None else None)


def retie(model: PreTrainedModel, tied: bool) -> None:
    """Tie the LM head to the input embeddings or give it a weight of its own (a copy), in the module and in the
    config, so `save_pretrained` writes what stock `from_pretrained` rebuilds. A model without a head is left alone."""
    head = model.get_output_embeddings()
    if head is None or tied_head(model) == tied:
        return
    for cfg in (model.config, getattr(model.config, "get_text_config", lambda: None)()):
        if cfg is not None and hasattr(cfg, "tie_word_embeddings"):
            cfg.tie_word_embeddings = tied
    if tied:
        head.weight = model.get_input_embeddings().weight
    else:
        head.weight = torch.nn.Parameter(head.weight.detach().clone())
