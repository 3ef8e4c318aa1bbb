"""How much shorter dynamic prefixes are, and what they cost the continuation (the paper's trade-off).

Each test text (the chunks of the shared test sample, in draw order) is cut at a pretoken boundary into
a prefix (at most `prefix_tokens` base tokens) and a continuation (at most `continuation_tokens`). The
continuation's bits per byte is scored given the prefix tokenized (a) by the base tokenizer and (b)
dynamically, for each merge budget, with the texts of a language merged together as one batch. The
change against (a) carries a paired 95% interval over the texts (stats/bootstrap.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tokenizers import Tokenizer
from tqdm import tqdm
from transformers import PreTrainedModel

from tokshift.core.device import DEVICES, is_device_name
from tokshift.core.params import check
from tokshift.dynamic.embed import DynamicEmbedder, continuation_bits
from tokshift.dynamic.merge import MergeConfig, dynamic_tokenize
from tokshift.stats.bootstrap import paired_relative_difference
from tokshift.tokenization.spelling import token_bytes


@dataclass
class DynamicEvalConfig:
    langs: list[str] = field(default_factory=lambda: ["de", "ru", "ja", "code", "en", "zh"])
    """Languages of the test split that are scored."""
    docs: int = 32
    """Documents per language: one batch of dynamic tokenization (the paper's batch size is 32)."""
    prefix_tokens: int = 128
    """Most base tokens of a prefix."""
    continuation_tokens: int = 32
    """Most base tokens of a continuation."""
    min_prefix_tokens: int = 32
    """Documents shorter than min_prefix_tokens + 8 base tokens are skipped."""
    budgets: list[int] = field(default_factory=lambda: [0, 500])
    """Merge budgets per batch; 0 (the base tokenization through the same embedding path) is always scored
    as the reference."""
    boundary: str = "pretoken"
    """Unit a dynamic token stays in (tokshift.dynamic.merge.MergeConfig.boundary)."""
    cache_size: int = 100_000
    """Hypernetwork predictions kept in the LRU cache."""
    draws: int = 2000
    """Bootstrap resamples (of texts) behind the interval of each bpb change."""
    device: str = "auto"
    """Where the model runs: auto (CUDA when torch sees a GPU, else CPU), cpu, cuda or cuda:N."""
    bf16: bool = True
    """bf16 autocast (matrix products; losses stay float32) on CUDA and on bf16-native CPUs (core.device.uses_bf16)."""

    def __post_init__(self) -> None:
        check(bool(self.langs), "langs", "must name at least one language")
        check(self.docs > 0, "docs", f"must be > 0, got {self.docs}")
        check(self.prefix_tokens >= self.min_prefix_tokens > 0, "prefix_tokens",
              f"must be >= min_prefix_tokens > 0, got {self.prefix_tokens} / {self.min_prefix_tokens}")
        check(self.continuation_tokens > 0, "continuation_tokens", f"must be > 0, got {self.continuation_tokens}")
        check(bool(self.budgets) and min(self.budgets) >= 0, "budgets",
              f"must be a non-empty list of merge budgets >= 0, got {self.budgets}")
        MergeConfig(boundary=self.boundary)  # validates the boundary name
        check(is_device_name(self.device), "device", f"must be {DEVICES}, got '{self.device}'")


def split_document(text: str, base: Tokenizer, cfg: DynamicEvalConfig) -> tuple[str, list[int]] | None:
    """(prefix text, continuation base ids), cut where a pretoken starts; None if the document is too short."""
    enc = base.encode(text, add_special_tokens=False)
    n = len(enc.ids)
    if n < cfg.min_prefix_tokens + 8:
        return None
    cut = min(cfg.prefix_tokens, n - min(cfg.continuation_tokens, n // 4))
    while cut > cfg.min_prefix_tokens and enc.word_ids[cut] == enc.word_ids[cut - 1]:
        cut -= 1  # back to the start of a pretoken, so prefix and continuation tokenize as the whole
    return text[:enc.offsets[cut][0]], enc.ids[cut:cut + cfg.continuation_tokens]


def evaluate_dynamic(model: PreTrainedModel, embedder: DynamicEmbedder, base: Tokenizer, start_id: int,
                     texts: dict[str, list[str]], cfg: DynamicEvalConfig) -> list[dict]:
    """One row per language and budget: prefix tokens, reduction, continuation bpb and its change."""
    rows = []
    for lang in cfg.langs:
        pairs = [p for p in (split_document(t, base, cfg) for t in texts[lang]) if p is not None][:cfg.docs]
        if not pairs:
            raise ValueError(f"no test document of '{lang}' has {cfg.min_prefix_tokens + 8} base tokens; "
                             "fix params.yaml: dynamic_eval.langs or min_prefix_tokens")
        prefixes = [p for p, _ in pairs]
        conts = [c for _, c in pairs]
        n_bytes = sum(len(token_bytes(tuple(c), base)) for c in conts)
        reference = None
        for budget in tqdm(sorted({0, *cfg.budgets}), desc=f"dynamic {lang}", unit="budget", disable=None):
            batch = dynamic_tokenize(prefixes, base, MergeConfig(budget=budget, boundary=cfg.boundary,
                                                                 max_pieces=embedder.hyper.cfg.max_pieces))
            before = (embedder.stats.hits, embedder.stats.misses)
            doc_bits = continuation_bits(model, embedder, batch, conts, start_id)
            hits, misses = embedder.stats.hits - before[0], embedder.stats.misses - before[1]
            bpb = sum(doc_bits) / n_bytes
            reference = doc_bits if reference is None else reference
            change = paired_relative_difference(doc_bits, reference, draws=cfg.draws)
            rows.append({"lang": lang, "budget": budget, "merges": batch.merges, "docs": len(pairs),
                         "prefix_tokens": sum(batch.lengths), "base_prefix_tokens": sum(batch.base_lengths),
                         "reduction": round(batch.reduction, 5), "continuation_bytes": n_bytes,
                         "continuation_bpb": round(bpb, 5),
                         "bpb_change": round(change.value, 5), "bpb_change_lo": round(change.lo, 5),
                         "bpb_change_hi": round(change.hi, 5), "verdict": change.verdict,
                         "cache_hit_rate": round(hits / max(1, hits + misses), 4)})
    return rows
