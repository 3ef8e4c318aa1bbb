"""Embeddings for dynamic tokens, and a model run on them.

A dynamic token that is one base token keeps the base model's own input embedding; a merged one is
embedded by the hypernetwork from its base pieces (the base tokenizer's spelling of its bytes, as in
hypernetwork training). Predictions are kept in an LRU cache keyed by the token's byte-level string,
so a token seen in an earlier batch costs nothing. The model then runs on `inputs_embeds`: a prompt is
prefilled with dynamic tokens and the continuation is scored or generated with the model's own
output vocabulary (decoders); a padded batch with the tokenizer's own special tokens around each text
goes through any head, e.g. sequence classification or fill-mask (encoders).
"""

from __future__ import annotations

import inspect
import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import PreTrainedModel

from tokshift.dynamic.merge import DynamicBatch, MergeConfig, dynamic_tokenize
from tokshift.hypernet.model import Hypernetwork
from tokshift.model.embeddings import scaled
from tokshift.tokenization.pieces import spell
from tokshift.tokenization.spelling import token_string


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0

    @property
    def hit_rate(self) -> float:
        return self.hits / max(1, self.hits + self.misses)


class DynamicEmbedder:
    """Input embeddings of dynamic tokens for `model` (the hypernetwork's frozen base)."""

    def __init__(self, model: PreTrainedModel, hyper: Hypernetwork, base: Tokenizer, cache_size: int = 100_000):
        if cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {cache_size}")
        self.model, self.hyper, self.base = model, hyper.eval(), base
        self.table = model.get_input_embeddings().weight
        self.cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.cache_size = cache_size
        self.stats = CacheStats()

    def _predict(self, strings: list[str]) -> list[torch.Tensor]:
        pred = self.hyper.embed(spell(strings, self.base, self.hyper.cfg.max_pieces))["input"]
        return list(pred.to(self.table.device, self.table.dtype))

    def rows(self, tokens: list[tuple[int, ...]]) -> torch.Tensor:
        """[len(tokens), d] input embeddings."""
        out: list[torch.Tensor | None] = [None] * len(tokens)
        missing: dict[str, list[int]] = {}
        for i, tok in enumerate(tokens):
            if len(tok) == 1:
                out[i] = self.table[tok[0]]
                continue
            key = token_string(tok, self.base)
            if key in self.cache:
                self.cache.move_to_end(key)
                out[i] = self.cache[key]
                self.stats.hits += 1
            else:
                missing.setdefault(key, []).append(i)
        if missing:
            self.stats.misses += len(missing)
            # Repeats within the call count as hits: only the first occurrence is predicted.
            self.stats.hits += sum(len(v) - 1 for v in missing.values())
            for key, row in zip(missing, self._predict(list(missing)), strict=True):
                for i in missing[key]:
                    out[i] = row
                if self.cache_size:
                    self.cache[key] = row
                    if len(self.cache) > self.cache_size:
                        self.cache.popitem(last=False)
        return torch.stack(out) if out else self.table[:0]


@torch.no_grad()
def continuation_bits(model: PreTrainedModel, embedder: DynamicEmbedder, prefixes: DynamicBatch,
                      continuations: list[list[int]], start_id: int) -> list[float]:
    """Per pair, the bits the model needs for the continuation's base tokens after [start, dynamic prefix]."""
    bits = []
    for prefix, cont in zip(prefixes.tokens, continuations, strict=True):
        if not cont:
            bits.append(0.0)
            continue
        tokens = [(start_id,), *prefix, *[(t,) for t in cont]]
        embeds = embedder.rows(tokens)[None]
        mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)
        # only the positions that predict the continuation need the output layer (over the whole vocabulary)
        keep = {"logits_to_keep": len(cont) + 1} if takes_logits_to_keep(model) else {}
        logits = model(inputs_embeds=scaled(model, embeds), attention_mask=mask, **keep).logits[0]
        target = torch.tensor(cont, device=logits.device)
        nll = F.cross_entropy(logits[-len(cont) - 1:-1].float(), target, reduction="sum").item()
        bits.append(nll / math.log(2))
    return bits


def takes_logits_to_keep(model: PreTrainedModel) -> bool:
    """Whether the model's forward can skip the output layer at positions no loss needs (most causal LMs)."""
    return "logits_to_keep" in inspect.signature(model.forward).parameters


def template_specials(base: Tokenizer) -> tuple[list[int], list[int]]:
    """The special ids the tokenizer's post-processor puts before and after one text (e.g. [CLS] / [SEP], <s>)."""
    plain = base.encode("a", add_special_tokens=False).ids
    full = base.encode("a", add_special_tokens=True).ids
    at = next(i for i in range(len(full)) if full[i:i + len(plain)] == plain)
    return full[:at], full[at + len(plain):]


@dataclass
class DynamicInputs:
    inputs_embeds: torch.Tensor
    """[batch, longest, d]; padding rows are zeros (masked out)."""
    attention_mask: torch.Tensor
    """[batch, longest]: 1 on tokens, 0 on the right padding."""
    tokens: list[list[tuple[int, ...]]]
    """Per text, the dynamic tokens the rows embed, the template's special tokens included."""


def model_inputs(embedder: DynamicEmbedder, batch: DynamicBatch, add_special_tokens: bool = True) -> DynamicInputs:
    """A right-padded batch of dynamic-token embeddings for `model(inputs_embeds=..., attention_mask=...)`."""
    before, after = template_specials(embedder.base) if add_special_tokens else ([], [])
    tokens = [[(t,) for t in before] + list(toks) + [(t,) for t in after] for toks in batch.tokens]
    longest = max(len(t) for t in tokens)
    embeds = embedder.table.new_zeros(len(tokens), longest, embedder.table.shape[1])
    mask = torch.zeros(len(tokens), longest, dtype=torch.long, device=embeds.device)
    for i, toks in enumerate(tokens):
        embeds[i, :len(toks)] = embedder.rows(toks)
        mask[i, :len(toks)] = 1
    return DynamicInputs(embeds, mask, tokens)


@torch.no_grad()
def run_dynamic(model: PreTrainedModel, embedder: DynamicEmbedder, texts: list[str], cfg: MergeConfig,
                add_special_tokens: bool = True):
    """(model outputs, inputs) for a batch of texts tokenized dynamically, as an encoder or a classifier sees it."""
    inputs = model_inputs(embedder, dynamic_tokenize(texts, embedder.base, cfg), add_special_tokens)
    return model(inputs_embeds=scaled(model, inputs.inputs_embeds), attention_mask=inputs.attention_mask), inputs
