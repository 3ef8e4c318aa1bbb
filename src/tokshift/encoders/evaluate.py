"""Evaluate an encoder and its transfers on the help task: retrieval P@1 / MRR and topic accuracy per language.

The setting is zero-shot, as the papers use XNLI: everything on the English side stays with the
original model and tokenizer, and only the other language goes through the transfer.
- Retrieval: each test paragraph in language L (embedded by the model under test) ranks all of L's
  English test paragraphs (embedded by the original); P@1 and MRR of its own translation.
- Topic: a linear classifier (multinomial logistic regression, L-BFGS) trained on the original's
  embeddings of the English train items predicts the module of L's test items embedded by the model
  under test. The original model's English test accuracy is the ceiling.
The original's side (the classifier and the English passages) can be saved as a reference file and read
back by a later evaluation of the same model, task and settings (the dynamic one), instead of embedding
the English side again; a reference that does not match is ignored and the side recomputed.
Leaves out: fine-tuning the encoder on the task (frozen embeddings only).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from tokshift.core.atomic import atomic_file
from tokshift.core.device import DEVICES, is_device_name, resolve_device
from tokshift.core.params import check
from tokshift.encoders.help_task import TaskError, read_help_task
from tokshift.hypernet.folder import base_fingerprint
from tokshift.model.base import load_model
from tokshift.model.pooling import embed_texts, read_pooling
from tokshift.stats.bootstrap import mean_interval, paired_mean_difference
from tokshift.transfers.folder import apply_transfer, read_meta

log = logging.getLogger(__name__)


@dataclass
class EncoderEvalConfig:
    batch_size: int = 32
    """Texts per forward pass."""
    max_length: int = 256
    """Tokens per text (longer ones are cut)."""
    head_steps: int = 100
    """L-BFGS iterations of the topic classifier."""
    head_l2: float = 0.0001
    """L2 penalty of the topic classifier's weights."""
    seed: int = 0
    """Seed of the classifier's start."""
    device: str = "auto"
    """Where the encoder runs: auto (CUDA when torch sees a GPU, else CPU), cpu, cuda or cuda:N."""
    draws: int = 2000
    """Bootstrap resamples (of help pages) behind the intervals of P@1 and accuracy."""

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_length", "head_steps", "draws"):
            check(getattr(self, name) > 0, name, f"must be > 0, got {getattr(self, name)}")
        check(self.head_l2 >= 0, "head_l2", f"must be >= 0, got {self.head_l2}")
        check(is_device_name(self.device), "device", f"must be {DEVICES}, got '{self.device}'")


def topic_head(emb: torch.Tensor, labels: torch.Tensor, n_classes: int, cfg: EncoderEvalConfig) -> torch.nn.Linear:
    """A linear classifier [d -> n_classes] fitted by L-BFGS on cross-entropy + L2 (deterministic)."""
    torch.manual_seed(cfg.seed)
    head = torch.nn.Linear(emb.shape[1], n_classes)
    opt = torch.optim.LBFGS(head.parameters(), max_iter=cfg.head_steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(emb), labels) + cfg.head_l2 * head.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return head.requires_grad_(False)


def retrieval_ranks(queries: torch.Tensor, passages: torch.Tensor) -> torch.Tensor:
    """Rank of passage i among all passages for query i (cosine; both L2-normalised); 1 = the translation first."""
    sims = queries @ passages.T
    return (sims > sims.diagonal().unsqueeze(1)).sum(1) + 1


def retrieval_scores(queries: torch.Tensor, passages: torch.Tensor) -> tuple[float, float]:
    """(P@1, MRR) of query i finding passage i among all passages."""
    rank = retrieval_ranks(queries, passages)
    return float((rank == 1).float().mean()), float((1.0 / rank.float()).mean())


class HelpTaskEval:
    """The original encoder's side of the task, computed once: English embeddings and the topic classifier."""

    def __init__(self, base_dir: str | Path, task_file: str | Path, cfg: EncoderEvalConfig,
                 reference: str | Path | None = None) -> None:
        self.cfg, self.device = cfg, resolve_device(cfg.device, "encoder_eval.device")
        self.model, self.tokenizer = load_model(str(base_dir), device=self.device)
        self.base = base_fingerprint(self.model)
        self.pooling, self.prefix = read_pooling(base_dir)
        table = read_help_task(task_file)
        self.rows = table.to_pylist()
        train = [r for r in self.rows if r["split"] == "train"]
        if not train:
            raise TaskError(f"{task_file}: no English train items for the topic classifier")
        self.classes = sorted({r["label"] for r in train})
        self.test = {}
        for r in self.rows:
            if r["split"] == "test":
                self.test.setdefault(r["lang"], []).append(r)
        unknown = sorted({r["label"] for rows in self.test.values() for r in rows} - set(self.classes))
        if unknown:
            raise TaskError(f"{task_file}: test label(s) {unknown} have no English train items; rebuild the task")
        if reference is not None and self._load_reference(Path(reference)):
            return
        labels = torch.tensor([self.classes.index(r["label"]) for r in train])
        self.head = topic_head(self.embed([r["text"] for r in train]), labels, len(self.classes), cfg)
        self.passages = {lang: self.embed([r["en_text"] for r in rows]) for lang, rows in self.test.items()}

    def reference_key(self) -> str:
        """What the original's side depends on: the model, the task rows and the settings (and where they ran)."""
        task = hashlib.sha256(json.dumps(self.rows, sort_keys=True, default=str).encode()).hexdigest()
        settings = {k: v for k, v in asdict(self.cfg).items() if k != "draws"}  # intervals change nothing here
        return json.dumps({"base": self.base, "task": task, "cfg": {**settings, "device": str(self.device)}},
                          sort_keys=True)

    def save_reference(self, path: str | Path) -> None:
        """The classifier and the English passages as one safetensors file (atomically), keyed by reference_key."""
        tensors = {"head.weight": self.head.weight.detach().cpu().contiguous(),
                   "head.bias": self.head.bias.detach().cpu().contiguous(),
                   **{f"passages.{lang}": t.cpu().contiguous() for lang, t in self.passages.items()}}
        with atomic_file(path) as tmp:
            save_file(tensors, str(tmp), metadata={"key": self.reference_key()})

    def _load_reference(self, path: Path) -> bool:
        """Take the original's side from `path` if it was saved for this model, task and settings."""
        try:
            with safe_open(str(path), "pt") as f:
                key = (f.metadata() or {}).get("key")
            tensors = load_file(str(path)) if key == self.reference_key() else None
        except (OSError, SafetensorError) as err:
            log.warning("%s: reference unreadable (%s); embedding the English side again", path, err)
            return False
        if tensors is None or set(tensors) != {"head.weight", "head.bias", *(f"passages.{k}" for k in self.test)}:
            log.warning("%s: reference is for another model, task or settings; embedding the English side again", path)
            return False
        weight = tensors["head.weight"]
        self.head = torch.nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.head.weight.copy_(weight)
            self.head.bias.copy_(tensors["head.bias"])
        self.passages = {lang: tensors[f"passages.{lang}"].to(self.device) for lang in self.test}
        return True

    def embed(self, texts: list[str], model=None, tokenizer=None) -> torch.Tensor:
        return embed_texts(model or self.model, tokenizer or self.tokenizer, texts, self.pooling, self.prefix,
                           self.cfg.batch_size, self.cfg.max_length)

    def score(self, lang: str, model=None, tokenizer=None) -> dict[str, float]:
        """tokens, P@1, MRR (not for English) and topic accuracy of `lang`'s test items under a model."""
        rows, tokenizer = self.items(lang), tokenizer or self.tokenizer
        queries = self.embed([r["text"] for r in rows], model, tokenizer)
        tokens = sum(len(tokenizer(r["text"], add_special_tokens=False)["input_ids"]) for r in rows)
        return self.score_embeddings(lang, queries, tokens)

    def items(self, lang: str) -> list[dict]:
        """`lang`'s test items; a language without any is an error naming the task's languages."""
        if lang not in self.test:
            raise TaskError(f"language '{lang}' has no test items in the task; choose from {sorted(self.test)}")
        return self.test[lang]

    def score_embeddings(self, lang: str, queries: torch.Tensor, tokens: int) -> dict[str, float]:
        """items, tokens, accuracy and (not for English) P@1 and MRR of `lang`'s items embedded as `queries`."""
        rows = self.items(lang)
        labels = torch.tensor([self.classes.index(r["label"]) for r in rows])
        correct = (self.head(queries).argmax(1) == labels).float()
        # per item, for the intervals (resampled by help page: a page's paragraphs share its topic)
        out = {"items": len(rows), "tokens": tokens, "accuracy": round(float(correct.mean()), 4),
               "per_item": {"page": [r["page"] for r in rows], "accuracy": correct.tolist()}}
        if lang != "en":
            rank = retrieval_ranks(queries, self.passages[lang]).float()
            out.update({"p_at_1": round(float((rank == 1).float().mean()), 4),
                        "mrr": round(float((1.0 / rank).mean()), 4)})
            out["per_item"]["p_at_1"] = (rank == 1).float().tolist()
        return out


def evaluate_encoder(base_dir: str | Path, transfer_dirs: list[Path], task_file: str | Path,
                     cfg: EncoderEvalConfig, reference: str | Path | None = None) -> list[dict]:
    """Rows (model, tokenizer, method, lang, items, tokens, accuracy, p_at_1, mrr): the original on every
    language, then each transfer on the task languages of its tokenizer. `reference`: also save the
    original's side there (for encoder_dynamic_eval)."""
    task = HelpTaskEval(base_dir, task_file, cfg)
    if reference is not None:
        task.save_reference(reference)
    rows = []
    for lang in sorted(task.test):
        rows.append({"model": "original", "tokenizer": "original", "method": "original", "lang": lang,
                     **task.score(lang)})
    original = {r["lang"]: r["tokens"] for r in rows}
    for t_dir in transfer_dirs:
        meta = read_meta(t_dir)
        tokenizer = apply_transfer(task.model, t_dir, task.base)
        name = Path(meta["target_tokenizer"]).name
        langs = [lang for lang in meta.get("languages") or [] if lang in task.test and lang != "en"]
        if not langs:
            raise TaskError(f"{t_dir}: its tokenizer's languages {meta.get('languages')} have no test items in "
                            f"the task ({sorted(task.test)})")
        for lang in langs:
            row = task.score(lang, task.model, tokenizer)
            log.info("%s/%s %s: %s", name, meta["method"], lang, row)
            rows.append({"model": f"{name}/{meta['method']}", "tokenizer": name, "method": meta["method"],
                         "lang": lang, **row, "token_ratio": round(row["tokens"] / original[lang], 4)})
    return with_intervals(rows, cfg.draws)


def with_intervals(rows: list[dict], draws: int) -> list[dict]:
    """The rows with 95% intervals of P@1 and accuracy (pages resampled) and, for transfers, the paired difference
    in points to the original (`vs_original`) and to FVT on the same tokenizer (`vs_fvt`); per-item data dropped."""
    by_model = {(r["model"], r["lang"]): r for r in rows}
    out = []
    for row in rows:
        items, extra = row["per_item"], {}
        for key in ("p_at_1", "accuracy"):
            if key not in items:
                continue
            iv = mean_interval(items[key], items["page"], draws)
            extra.update({f"{key}_lo": round(iv.lo, 4), f"{key}_hi": round(iv.hi, 4)})
            refs = {"vs_original": ("original", row["lang"])} if row["method"] != "original" else {}
            if row["method"] not in ("original", "fvt"):
                refs["vs_fvt"] = (f"{row['tokenizer']}/fvt", row["lang"])
            for name, ref in refs.items():
                if ref in by_model:
                    diff = paired_mean_difference(items[key], by_model[ref]["per_item"][key], items["page"], draws)
                    extra[f"{key}_{name}"] = diff.comparison(4)
        out.append({**{k: v for k, v in row.items() if k != "per_item"}, **extra})
    return out
