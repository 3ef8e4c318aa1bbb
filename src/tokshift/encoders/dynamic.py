"""Dynamic tokenization on the encoder: shorter inputs for the help task at each token-reduction target.

Each language's test items are cut into batches (the paper's batch of 32); in each batch the most
frequent adjacent pairs of base (SentencePiece) tokens are merged (dynamic/merge.py) until the batch
has `reduction` fewer tokens, never across a pretoken (a whitespace-separated word for XLM-R), and
merged tokens are embedded by the encoder's hypernetwork (dynamic/embed.py). The encoder runs on
[<s>, prefix tokens, dynamic tokens, </s>]; the prefix (e5's "query:") is never merged and not counted.
Scores are those of the help task (evaluate.py: English side by the original), so reduction 0 is the
original model exactly. Output: the paper's XNLI-style trade-off, per language and target.
Leaves out: merging the English side too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from tokshift.core.device import DEVICES, is_device_name
from tokshift.core.params import check
from tokshift.dynamic.embed import DynamicEmbedder, template_specials
from tokshift.dynamic.merge import MergeConfig, dynamic_tokenize
from tokshift.encoders.evaluate import EncoderEvalConfig, HelpTaskEval
from tokshift.hypernet.folder import load_hypernet
from tokshift.model.pooling import encoder_states, pool
from tokshift.stats.bootstrap import paired_relative_difference


@dataclass
class EncoderDynamicConfig:
    reductions: list[float] = field(default_factory=lambda: [0.0, 0.2])
    """Token-reduction targets per batch (0 = the base tokenization, through the same embedding path)."""
    batch_size: int = 32
    """Texts merged together (the dynamic-tokenization paper's batch)."""
    max_merges: int = 2000
    """Most merges per batch, whatever the target."""
    min_count: int = 1
    """A pair must occur this often in the batch to be merged. 1 reaches every target; with 2, short paragraphs
    repeat too few pairs within 32 texts (German stops at 12% fewer tokens)."""
    boundary: str = "pretoken"
    """Unit a dynamic token stays in (tokshift.dynamic.merge.MergeConfig.boundary)."""
    cache_size: int = 100_000
    """Hypernetwork predictions kept in the LRU cache."""
    eval: EncoderEvalConfig = field(default_factory=EncoderEvalConfig)
    """The help task's classifier and batching (as in encoder_eval)."""

    def __post_init__(self) -> None:
        check(bool(self.reductions) and all(0 <= r < 1 for r in self.reductions), "reductions",
              f"must be targets in [0, 1), got {self.reductions}")
        check(self.batch_size > 0, "batch_size", f"must be > 0, got {self.batch_size}")
        check(self.max_merges > 0, "max_merges", f"must be > 0, got {self.max_merges}")
        check(self.min_count >= 1, "min_count", f"must be >= 1, got {self.min_count}")
        MergeConfig(boundary=self.boundary)  # validates the boundary name
        check(is_device_name(self.eval.device), "eval.device", f"must be {DEVICES}, got '{self.eval.device}'")


@torch.no_grad()
def dynamic_queries(task: HelpTaskEval, embedder: DynamicEmbedder, texts: list[str], merge: MergeConfig,
                    batch_size: int) -> tuple[torch.Tensor, int, int]:
    """(sentence embeddings [N, d], dynamic tokens, base tokens) of `texts` merged `batch_size` texts at a time."""
    base = embedder.base
    before, after = template_specials(base)
    prefix = base.encode(task.prefix.strip(), add_special_tokens=False).ids if task.prefix.strip() else []
    head, tail = [(t,) for t in [*before, *prefix]], [(t,) for t in after]
    room = task.cfg.max_length - len(head) - len(tail)
    rows, n_dynamic, n_base = [], 0, 0
    for start in range(0, len(texts), batch_size):
        batch = dynamic_tokenize(texts[start:start + batch_size], base, merge)
        n_dynamic, n_base = n_dynamic + sum(batch.lengths), n_base + sum(batch.base_lengths)
        rows += [head + list(toks)[:room] + tail for toks in batch.tokens]
    # The encoder runs on length-sorted groups (merging above used the texts' own batches), as embed_texts does.
    out = torch.empty(len(rows), task.model.config.hidden_size)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    for start in range(0, len(order), task.cfg.batch_size):
        group = order[start:start + task.cfg.batch_size]
        width = max(len(rows[i]) for i in group)
        embeds = embedder.table.new_zeros(len(group), width, embedder.table.shape[1])
        mask = torch.zeros(len(group), width, dtype=torch.long, device=embeds.device)
        for r, i in enumerate(group):
            embeds[r, :len(rows[i])], mask[r, :len(rows[i])] = embedder.rows(rows[i]), 1
        out[group] = pool(encoder_states(task.model, None, mask, embeds), mask, task.pooling).cpu()
    return out, n_dynamic, n_base


def changes(items: dict, reference: dict, n_dynamic: int, n_base: int, draws: int) -> dict:
    """Achieved reduction, and the relative change of P@1 and accuracy against the unmerged input, paired over the
    same items (pages resampled), with 95% intervals."""
    out = {"reduction": round(1 - n_dynamic / n_base, 4)}
    for key in ("p_at_1", "accuracy"):
        if key in items and sum(reference[key]):  # no relative change from nothing
            change = paired_relative_difference(items[key], reference[key], items["page"], draws)
            out.update({f"{key}_change": round(change.value, 4), f"{key}_change_lo": round(change.lo, 4),
                        f"{key}_change_hi": round(change.hi, 4), f"{key}_verdict": change.verdict})
    return out


def evaluate_encoder_dynamic(base_dir: str | Path, hypernet_dir: str | Path, task_file: str | Path,
                             cfg: EncoderDynamicConfig, reference: str | Path | None = None) -> list[dict]:
    """One row per language and reduction target: tokens, achieved reduction, P@1, MRR, accuracy and their
    change relative to reduction 0 with 95% intervals; and per target a row `all` pooling the items of every
    language with retrieval (English has none)."""
    task = HelpTaskEval(base_dir, task_file, cfg.eval, reference)  # the English side from encoder_eval
    embedder = DynamicEmbedder(task.model, load_hypernet(hypernet_dir, task.model), task.tokenizer.backend_tokenizer,
                               cfg.cache_size)
    rows, pooled = [], {}  # pooled: target -> every language's items, for the all-languages row
    for lang in sorted(task.test):
        texts = [r["text"] for r in task.items(lang)]
        for target in tqdm(sorted({0.0, *cfg.reductions}), desc=f"dynamic {lang}", unit="target", disable=None):
            merge = MergeConfig(budget=cfg.max_merges if target else 0, target_reduction=target,
                                boundary=cfg.boundary, max_pieces=embedder.hyper.cfg.max_pieces,
                                min_count=cfg.min_count)
            queries, n_dynamic, n_base = dynamic_queries(task, embedder, texts, merge, cfg.batch_size)
            row = {"lang": lang, "target": target, **task.score_embeddings(lang, queries, n_dynamic),
                   "base_tokens": n_base}
            items = row.pop("per_item")
            if target == 0.0:  # the unmerged input comes first and is every target's reference
                reference = items
            if "p_at_1" in items:  # English has no retrieval and stays out of the pooled row
                pool_items = pooled.setdefault(target, {"page": [], "p_at_1": [], "accuracy": [], "tokens": 0,
                                                        "base_tokens": 0})
                for key in ("p_at_1", "accuracy"):
                    pool_items[key] += items[key]
                pool_items["page"] += [f"{lang}:{p}" for p in items["page"]]
                pool_items["tokens"] += n_dynamic
                pool_items["base_tokens"] += n_base
            rows.append({**row, **changes(items, reference, n_dynamic, n_base, cfg.eval.draws)})
    for target, items in pooled.items():
        rows.append({"lang": "all", "target": target, "items": len(items["page"]), "tokens": items["tokens"],
                     "p_at_1": round(sum(items["p_at_1"]) / len(items["page"]), 4),
                     "accuracy": round(sum(items["accuracy"]) / len(items["page"]), 4),
                     "base_tokens": items["base_tokens"],
                     **changes(items, pooled[0.0], items["tokens"], items["base_tokens"], cfg.eval.draws)})
    return rows
