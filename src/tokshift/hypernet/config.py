"""The hypernetwork training configuration: TrainConfig, every field documented and checked by name.

The checkpoint key (`TrainConfig.key`) hashes what a resume must match; `terms` says which objective terms
train at a step. Leaves out: the training itself (loop.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tokshift.core.device import DEVICES, is_device_name
from tokshift.core.params import check
from tokshift.hypernet.model import HypernetConfig
from tokshift.hypernet.sampler import SamplerConfig
from tokshift.hypernet.stream import StreamConfig

OBJECTIVES = ("lm", "hidden", "segment", "pooled")


@dataclass
class TrainConfig:
    steps: int = 150
    """Optimizer steps (the compositional warm-up's included)."""
    batch_size: int = 8
    """Texts per step and process."""
    seq_len: int = 128
    """Tokens per text (of the sampled tokenizer, BOS included)."""
    text_chars: int = 0
    """Characters cut from a train document per text; 0 = 4 x seq_len."""
    langs: list[str] = field(default_factory=lambda: ["de", "ru", "ja", "code", "en", "zh"])
    """Training languages, one per step in turn (the corpus train split)."""
    lr: float = 1e-3
    """Peak AdamW learning rate."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    warmup_steps: int = 10
    """Linear warmup steps before the cosine decay to 0 (in each phase: the warm-up, then the objective)."""
    grad_clip: float = 1.0
    """Max gradient norm."""
    ema_decay: float = 0.99
    """Decay of an exponential moving average of the weights (0 = off). The average starts at the initial,
    FVT-equivalent network and is what gets evaluated and saved: it damps the step-to-step noise of small
    single-language batches (each step sees one sampled tokenizer on one batch of one language)."""
    lexical_weight: float = 0.5
    """Weight of the lexical loss (MSE to base embeddings of tokens the base vocabulary has)."""
    objective: str = "lm"
    """What the frozen base model teaches, a '+'-joined sum of: 'lm' (next-token cross-entropy on the sampled
    tokenization), 'hidden' (its states after hidden_layers blocks matched to the base tokenization's at aligned
    boundaries), 'segment' (each text segment's probability between aligned boundaries matched to the base's),
    'pooled' (the mean-pooled last states, a sentence embedding, matched by cosine). Causal LMs: lm, hidden, segment;
    masked LMs: lm, hidden, pooled; encoders without a head (sentence-embedding models): hidden, pooled."""
    hidden_layers: int = 0
    """Blocks the 'hidden' objective runs (the student stops there when nothing else needs the logits); 0 = a
    third of the base model's depth (causal LMs) or all of it (encoders: every state sees the whole text)."""
    hidden_weight: float = 1.0
    """Weight of the 'hidden' term (a normalised MSE: 1 = error as large as the teacher states' variance)."""
    segment_weight: float = 1.0
    """Weight of the 'segment' term (mean KL over segments, nats)."""
    pooled_weight: float = 1.0
    """Weight of the 'pooled' term (mean 1 - cosine of the student's and teacher's mean-pooled last states)."""
    hidden_steps: int = 0
    """Warm-up steps after compose_steps that train with 'hidden' alone; `objective` afterwards."""
    prefetch: bool = False
    """Build the next step's batch (sampled tokenizer, tokenization, pieces) in a background thread while the
    current step runs; results are identical either way. Off by default: on 2 CPU cores the thread takes cores
    from the models' own threads (see docs/hypernet.md)."""
    compose_steps: int = 0
    """Steps of the compositional warm-up first (compose.py: base tokens re-spelled with shorter base pieces,
    regressed onto their own embeddings; no base-model forward, needs a BPE base). It has its own warmup + cosine
    schedule; the objective's starts after it."""
    compose_batch: int = 1024
    """Base tokens per warm-up step."""
    compose_identity: float = 0.0
    """Share of warm-up tokens given whole (one piece, themselves): keeps the base's own tokens exact, as the lexical
    loss does after the warm-up."""
    compose_holdout: float = 0.05
    """Share of the base tokens the warm-up never trains on: its generalisation is measured on them."""
    checkpoint_every: int = 25
    """Steps between checkpoints."""
    keep_checkpoints: int = 2
    """Most recent checkpoints kept."""
    eval_every: int = 50
    """Steps between bits-per-byte evaluations on eval_tokenizers (0 = only at the start and the end)."""
    eval_tokenizers: list[str] = field(default_factory=lambda: [
        "storage/tokenizers/de-bpe-16k", "storage/tokenizers/ja-unigram-16k", "storage/tokenizers/code-bpe-16k"])
    """Target tokenizer folders for the bpb-vs-step curve (valid split of their languages)."""
    eval_max_bytes: int = 3000
    """Valid-split bytes per language scored at each evaluation."""
    embed_batch_tokens: int = 65536
    """Pieces per hypernetwork batch when embedding a whole vocabulary."""
    device: str = "auto"
    """Where training runs: auto (CUDA when torch sees a GPU, else CPU), cpu, cuda or cuda:N (under torchrun /
    accelerate launch each process takes its own GPU)."""
    bf16: bool = True
    """bf16 autocast (matrix products; losses stay float32) on CUDA and on bf16-native CPUs (core.device.uses_bf16)."""
    deterministic: bool = True
    """On CPU, torch's deterministic algorithms (the stage turns them on): reruns and resumes are bit-identical
    with any number of threads (docs/benchmarks.md: what it costs)."""
    seed: int = 0
    """Seed of every random draw."""
    model: HypernetConfig = field(default_factory=HypernetConfig)
    """Hypernetwork architecture."""
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    """Tokenizer sampling."""

    def __post_init__(self) -> None:
        check(is_device_name(self.device), "device", f"must be {DEVICES}, got '{self.device}'")
        for name in ("steps", "batch_size", "checkpoint_every", "keep_checkpoints", "eval_max_bytes"):
            check(getattr(self, name) > 0, name, f"must be > 0, got {getattr(self, name)}")
        check(self.seq_len >= 2, "seq_len", f"must be >= 2, got {self.seq_len}")
        check(self.lr > 0, "lr", f"must be > 0, got {self.lr}")
        check(0.0 <= self.ema_decay < 1.0, "ema_decay", f"must be in [0, 1), got {self.ema_decay}")
        check(bool(self.langs), "langs", "must name at least one language")
        check(0 <= self.compose_steps <= self.steps, "compose_steps",
              f"must be in [0, steps], got {self.compose_steps}")
        check(self.compose_batch > 0, "compose_batch", f"must be > 0, got {self.compose_batch}")
        check(0.0 <= self.compose_holdout < 1.0, "compose_holdout", f"must be in [0, 1), got {self.compose_holdout}")
        check(0.0 <= self.compose_identity <= 1.0, "compose_identity",
              f"must be in [0, 1], got {self.compose_identity}")
        terms = self.objective.split("+")
        check(bool(terms) and set(terms) <= set(OBJECTIVES) and len(set(terms)) == len(terms), "objective",
              f"must join distinct terms of {'/'.join(OBJECTIVES)} with '+', got {self.objective!r}")
        check(self.hidden_layers >= 0, "hidden_layers", f"must be >= 0 (0 = a third of the depth), got "
              f"{self.hidden_layers}")
        check(0 <= self.hidden_steps <= self.steps - self.compose_steps, "hidden_steps",
              f"must be in [0, steps - compose_steps], got {self.hidden_steps}")

    def stream(self) -> StreamConfig:
        """What the text stream reads of this config."""
        return StreamConfig(langs=self.langs, batch_size=self.batch_size, chars=self.text_chars or 4 * self.seq_len,
                            cache_texts=self.sampler.cache_texts, max_piece_chars=self.sampler.max_piece_chars,
                            seed=self.seed, first_step=self.compose_steps)

    def terms(self, step: int) -> set[str]:
        """The objective's terms at `step` (a step after the compositional warm-up)."""
        if step < self.compose_steps + self.hidden_steps:
            return {"hidden"}
        return set(self.objective.split("+"))

    @property
    def needs_teacher(self) -> bool:
        return self.hidden_steps > 0 or self.objective != "lm"

    def key(self, fingerprint: dict) -> str:
        """Checkpoint key: what must match for a resume (not the logging/eval knobs), and the training code itself:
        a run after a change to tokshift.hypernet starts afresh instead of resuming what the old code trained."""
        skip = {"checkpoint_every", "keep_checkpoints", "eval_every", "eval_tokenizers", "eval_max_bytes",
                "embed_batch_tokens", "prefetch"}
        cfg = {k: v for k, v in asdict(self).items() if k not in skip}
        return hashlib.sha256(json.dumps([cfg, fingerprint, code_digest()], sort_keys=True).encode()).hexdigest()[:16]


def code_digest() -> str:
    """SHA-256 of the hypernet package's source files (what trains the network)."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass
class EncoderHypernetConfig(TrainConfig):
    """The encoder's hypernetwork (params.yaml: encoder_hypernet): multilingual-e5-small has no head, so the frozen
    encoder teaches through its own states (hidden) and sentence embeddings (pooled) on its own tokenization."""

    steps: int = 100
    langs: list[str] = field(default_factory=lambda: ["de", "ru", "ja", "ko", "en"])
    eval_every: int = 50
    objective: str = "hidden+pooled"
    eval_tokenizers: list[str] = field(default_factory=lambda: ["storage/tokenizers/de-sp-16k",
                                                                "storage/tokenizers/ko-sp-16k"])
