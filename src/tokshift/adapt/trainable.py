"""What an adaptation trains (AdaptConfig.train): the embeddings, plus LoRA adapters (peft), or every weight.

Embeddings are the input and output matrices and an LM-head bias (model/embeddings.py); they train at
`lr`, adapters and transformer weights at `body_lr`. LoRA adapters are merged into the projection
weights when the result is saved (train.py). Leaves out: other peft methods.
"""

from __future__ import annotations

import torch

from tokshift.adapt.config import AdaptConfig
from tokshift.core.errors import InputError
from tokshift.model.embeddings import embedding_param_ids


def lora_model(model, cfg: AdaptConfig):
    """`model` with LoRA adapters on cfg.lora_targets (every one must exist); embeddings stay trainable."""
    from peft import LoraConfig, get_peft_model

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [t for t in cfg.lora_targets if t not in present]
    if missing:
        raise InputError(f"adapt.lora_targets: {missing} are not modules of {type(model).__name__} (it has e.g. "
                         f"{sorted(n for n in present if 'proj' in n or 'dense' in n)[:8]})")
    torch.manual_seed(cfg.seed)  # the adapters' initialisation
    return get_peft_model(model, LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, lora_dropout=0.0,
                                            target_modules=list(cfg.lora_targets)))


def parameter_groups(model, cfg: AdaptConfig) -> list[dict]:
    """Optimizer groups: the embeddings at cfg.lr, adapters or transformer weights at cfg.body_lr."""
    embed = embedding_param_ids(model)
    for name, param in model.named_parameters():
        param.requires_grad_(id(param) in embed or cfg.train == "all" or (cfg.train == "lora" and "lora_" in name))
    trained = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in trained if id(p) in embed], "lr": cfg.lr},
              {"params": [p for p in trained if id(p) not in embed], "lr": cfg.body_lr}]
    return [g for g in groups if g["params"]]
