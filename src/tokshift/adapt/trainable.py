"""What an adaptation trains (AdaptConfig.train): the embeddings, plus LoRA adapters (peft), or every weight.

Embeddings are the input and output matrices and an LM-head bias (model/embeddings.py); they train at
`lr`, adapters and transformer weights at `body_lr`. LoRA adapters are merged into the projection
weights when the result is saved (train.py). An optional projector (AdaptConfig.projector) is one
zero-initialised [d, d] map shared by every row, so a token no batch holds moves too; it is merged into
the matrices when saved. Leaves out: other peft methods.
"""

from __future__ import annotations

import torch
from torch import nn

from tokshift.adapt.config import AdaptConfig
from tokshift.core.errors import InputError
from tokshift.model.embeddings import embedding_param_ids, tied_head

PROJECTOR = "tokshift_projector"


def is_projector(name: str) -> bool:
    """Whether a parameter name (under any wrapper's prefix) is the projector's."""
    return PROJECTOR in name.split(".")


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
    """Optimizer groups: the embeddings at cfg.lr, the projector at cfg.projector_lr, adapters or transformer weights
    at cfg.body_lr."""
    embed = embedding_param_ids(model)
    projector = {id(p) for n, p in model.named_parameters() if is_projector(n)}
    for name, param in model.named_parameters():
        param.requires_grad_(id(param) in embed | projector or cfg.train == "all"
                             or (cfg.train == "lora" and "lora_" in name))
    trained = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in trained if id(p) in embed], "lr": cfg.lr},
              {"params": [p for p in trained if id(p) in projector], "lr": cfg.projector_lr},
              {"params": [p for p in trained if id(p) not in embed | projector], "lr": cfg.body_lr}]
    return [g for g in groups if g["params"]]


class Projector(nn.Module):
    """x -> x + x @ W for the input embeddings' rows, h -> h + h @ W.T before the head: the head then scores with
    rows e + e @ W, so one W keeps a tied model tied; an untied head gets a W of its own."""

    def __init__(self, dim: int, tied: bool):
        super().__init__()
        self.input = nn.Parameter(torch.zeros(dim, dim))
        self.output = None if tied else nn.Parameter(torch.zeros(dim, dim))

    def out_weight(self) -> nn.Parameter:
        return self.input if self.output is None else self.output

    @staticmethod
    def apply(matrix: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return matrix + matrix @ weight.to(matrix.dtype)


def add_projector(model) -> Projector:
    """Attach a zero Projector to `model` (a submodule, so it trains, checkpoints and syncs with the rest)."""
    head = model.get_output_embeddings()
    proj = Projector(model.get_input_embeddings().weight.shape[1], tied_head(model) or head is None)
    model.add_module(PROJECTOR, proj)
    model.get_input_embeddings().register_forward_hook(lambda _m, _a, out: Projector.apply(out, proj.input))
    if head is not None:
        head.register_forward_pre_hook(lambda _m, args: (Projector.apply(args[0], proj.out_weight().T), *args[1:]))
    return proj


@torch.no_grad()
def merge_projector(model, mats: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Embedding matrices (as embedding_matrices gives them) with the model's projector folded in."""
    proj = getattr(model, PROJECTOR, None)
    if proj is None:
        return mats
    out = dict(mats)
    out["input"] = Projector.apply(mats["input"], proj.input.detach().cpu())
    if "output" in mats:
        out["output"] = Projector.apply(mats["output"], proj.out_weight().detach().cpu())
    return out
