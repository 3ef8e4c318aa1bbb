"""What adapting a transfer trains, on how much text, and how (params.yaml: adapt)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tokshift.core.device import DEVICES, is_device_name
from tokshift.core.params import check

TRAINS = ("embeddings", "lora", "all")
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class AdaptConfig:
    tokenizers: list[str] = field(default_factory=lambda: ["de-bpe-16k"])
    """Target tokenizers (names under storage/tokenizers) whose transfers are adapted: adapt@<tokenizer>-<init>."""
    inits: list[str] = field(default_factory=lambda: ["fvt", "hypernet"])
    """Transfer methods adapted from (storage/transfer/<tokenizer>/<init>), each for the same steps."""
    steps: int = 150
    """Optimizer steps of continued training."""
    batch_size: int = 8
    """Sequences per step."""
    seq_len: int = 128
    """Tokens per sequence (the target tokenizer's), documents joined with the BOS/EOS token."""
    train: str = "embeddings"
    """What trains: embeddings (input, output and LM-head bias), lora (embeddings plus LoRA adapters, merged into
    the weights when saved) or all (every weight)."""
    lr: float = 1e-3
    """Peak learning rate (cosine decay after warm-up)."""
    body_lr: float = 1e-4
    """Learning rate of LoRA adapters or of the transformer weights (train: lora / all)."""
    projector: bool = True
    """Also train a zero-initialised [d, d] map shared by every embedding row (rows become e + e @ W), at
    projector_lr, merged into the matrices when saved: tokens absent from the batches move too (docs/adapt.md: from
    the hypernet init, 100 steps reach valid bpb 1.835 with it against 1.968 without, in the same seconds)."""
    projector_lr: float = 3e-4
    """Learning rate of the projector (1e-3 is level with it over 100 steps and worse over 25)."""
    warmup_steps: int = 10
    """Linear warm-up steps."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    lora_rank: int = 8
    """LoRA rank (train: lora)."""
    lora_alpha: int = 16
    """LoRA scaling numerator (train: lora)."""
    lora_targets: list[str] = field(default_factory=lambda: list(LORA_TARGETS))
    """Module names LoRA adapts (train: lora); every one must exist in the model."""
    distill_steps: int = 0
    """Warm-up steps (counted in `steps`) of aligned early-layer distillation before the LM loss: only the input
    embeddings train, to match the base model's states at aligned boundaries (0 = off)."""
    distill_layers: int = 0
    """Blocks whose output the warm-up matches (0 = a third of the depth)."""
    ema_decay: float = 0.0
    """Decay of an exponential moving average of the trained weights, which is evaluated and saved (0 = off)."""
    max_train_bytes: int = 3_000_000
    """Train-split bytes of the tokenizer's languages read (documents in id order)."""
    eval_every: int = 25
    """Steps between valid bits-per-byte evaluations (also at step 0 and at the end)."""
    eval_max_bytes: int = 3000
    """Valid-split bytes per language scored at each evaluation."""
    checkpoint_every: int = 25
    """Steps between checkpoints (a killed run resumes from the last one)."""
    seed: int = 0
    """Seed of the batch order and of the LoRA initialisation."""
    device: str = "auto"
    """Where training runs: auto (CUDA when torch sees a GPU, else CPU), cpu, cuda or cuda:N."""
    bf16: bool = True
    """bf16 autocast (matrix products; losses stay float32) on CUDA and on bf16-native CPUs (core.device.uses_bf16)."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "eval_max_bytes", "checkpoint_every", "max_train_bytes"):
            check(getattr(self, name) > 0, name, f"must be > 0, got {getattr(self, name)}")
        check(self.seq_len >= 2, "seq_len", f"must be >= 2, got {self.seq_len}")
        check(self.train in TRAINS, "train", f"must be one of {list(TRAINS)}, got '{self.train}'")
        check(self.lr > 0 and self.body_lr > 0, "lr", f"lr and body_lr must be > 0, got {self.lr}, {self.body_lr}")
        check(self.projector_lr > 0, "projector_lr", f"must be > 0, got {self.projector_lr}")
        check(0 <= self.distill_steps < self.steps, "distill_steps",
              f"must be >= 0 and below steps ({self.steps}), got {self.distill_steps}")
        check(self.distill_layers >= 0, "distill_layers", f"must be >= 0, got {self.distill_layers}")
        check(0.0 <= self.ema_decay < 1.0, "ema_decay", f"must be in [0, 1), got {self.ema_decay}")
        check(self.lora_rank > 0, "lora_rank", f"must be > 0, got {self.lora_rank}")
        check(bool(self.lora_targets), "lora_targets", "must name at least one module")
        check(is_device_name(self.device), "device", f"must be {DEVICES}, got '{self.device}'")
        check(bool(self.tokenizers) and bool(self.inits), "inits", "tokenizers and inits must name at least one")
