"""Generation over a large vocabulary: longest-prefix-match prompts, ANN output layer.

The prompt is encoded with the large vocabulary (vocabulary.py). At each step the last hidden state
queries the FAISS index for the top-k rows of the output matrix; those k are scored exactly and one
is chosen (greedy or sampled); its input embedding (the model's row, or the hypernetwork's for an
extra token) is fed back. Leaves out: beam search.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel

from tokshift.core.errors import InputError
from tokshift.core.params import check
from tokshift.large_vocab.index import VocabIndex
from tokshift.large_vocab.vocabulary import LargeVocab


@dataclass
class GenerateConfig:
    max_new_tokens: int = 32
    """Most tokens generated (fewer when a stop id comes)."""
    k: int = 20
    """Candidates taken from the index per step and scored exactly."""
    temperature: float = 0.0
    """Sampling temperature over the k candidates; 0 is greedy."""
    seed: int = 0
    """Seed of the sampling (temperature > 0)."""

    def __post_init__(self) -> None:
        check(self.max_new_tokens >= 1, "max_new_tokens", f"must be >= 1, got {self.max_new_tokens}")
        check(self.k >= 1, "k", f"must be >= 1, got {self.k}")
        check(self.temperature >= 0, "temperature", f"must be >= 0, got {self.temperature}")


@dataclass
class Generation:
    text: str
    ids: list[int]
    ann_seconds: float
    """Time spent in the output layer (index search + exact rescoring of the candidates)."""
    steps: int


@torch.no_grad()
def generate(model: PreTrainedModel, vocab: LargeVocab, index: VocabIndex, output: torch.Tensor, prompt: str, *,
             start_id: int, cfg: GenerateConfig | None = None, stop_ids: set[int] | None = None) -> Generation:
    """Continue `prompt` over the large vocabulary (output [len(vocab), d] are its output embeddings)."""
    cfg = cfg or GenerateConfig()
    if not any(c.isprintable() and not c.isspace() for c in prompt):
        raise InputError("the prompt is empty or only whitespace/control characters; give it some text")
    gen = torch.Generator().manual_seed(cfg.seed)
    ids = [start_id, *vocab.encode(prompt)]
    embeds = vocab.input_rows(model, ids)[None]
    backbone = model.base_model
    # Newer transformers name the KV cache `cache`, older ones `past_key_values`.
    cache_arg = "cache" if "cache" in inspect.signature(backbone.forward).parameters else "past_key_values"
    out = backbone(inputs_embeds=embeds, use_cache=True)
    past, new, ann = getattr(out, cache_arg), [], 0.0
    bias = getattr(model.get_output_embeddings(), "bias", None)
    if bias is not None:  # extra tokens get no bias
        bias = torch.cat([bias.float().cpu(), torch.zeros(len(output) - len(bias))])
    for _ in range(cfg.max_new_tokens):
        start = time.perf_counter()
        cand, scores = index.candidates(out.last_hidden_state[0, -1], output, cfg.k, bias)
        if cfg.temperature > 0:
            pick = int(torch.multinomial(torch.softmax(scores / cfg.temperature, 0), 1, generator=gen))
        else:
            pick = int(torch.argmax(scores))
        ann += time.perf_counter() - start
        tid = int(cand[pick])
        new.append(tid)
        if stop_ids and tid in stop_ids:
            break
        out = backbone(inputs_embeds=vocab.input_rows(model, [tid])[None], use_cache=True, **{cache_arg: past})
        past = getattr(out, cache_arg)
    text = b"".join(vocab.token_bytes(t) for t in new).decode("utf-8", errors="replace")
    return Generation(text=text, ids=new, ann_seconds=ann, steps=len(new))
