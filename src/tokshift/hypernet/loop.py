"""Hypernetwork training: sample a tokenizer, re-tokenize a batch, predict its embeddings, LM loss through
the frozen base model (+ lexical loss), AdamW with warmup + cosine decay and gradient clipping.

Runs unchanged as one process or under `torchrun` / `accelerate launch` (DDP through `accelerate`; each
process samples its own tokenizer and language). Everything random in a step is drawn from a generator
seeded by (seed, step, rank), so a run resumed from a checkpoint (weights, optimizer, scheduler, step)
continues exactly as if it had never stopped; the text cache is rebuilt by replaying the steps before.
Checkpoints live under `checkpoint_dir/<key>`, where the key hashes the config and the base model, so a
changed config starts fresh instead of resuming something else. Leaves out: gradient accumulation.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm
from transformers import AutoTokenizer, get_cosine_schedule_with_warmup

from tokshift.atomic import atomic_dir
from tokshift.hypernet.model import HypernetConfig, Hypernetwork
from tokshift.hypernet.objective import identity_loss, lexical_loss, lm_loss
from tokshift.hypernet.pieces import decompose_tokens
from tokshift.hypernet.predict import (
    CheckpointMismatchError,
    base_fingerprint,
    check_fingerprint,
    load_weights,
    save_hypernet,
    tokenizer_matrices,
)
from tokshift.hypernet.sampler import SampledTokenizer, SamplerConfig, sample_tokenizer
from tokshift.hypernet.stream import TextStream, special_tokens
from tokshift.params import check

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    steps: int = 300
    """Optimizer steps (identity warm-up included)."""
    batch_size: int = 8
    """Texts per step and process."""
    seq_len: int = 128
    """Tokens per text (of the sampled tokenizer, BOS included)."""
    text_chars: int = 0
    """Characters cut from a train document per text; 0 = 4 x seq_len."""
    langs: list[str] = field(default_factory=lambda: ["en"])
    """Training languages, one per step in turn (the corpus train split)."""
    lr: float = 3e-4
    """Peak AdamW learning rate."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    warmup_steps: int = 20
    """Linear warmup steps before the cosine decay to 0."""
    grad_clip: float = 1.0
    """Max gradient norm."""
    ema_decay: float = 0.0
    """Decay of an exponential moving average of the weights (0 = off). The average starts at the initial,
    FVT-equivalent network and is what gets evaluated and saved: it damps the step-to-step noise of small
    single-language batches (each step sees one sampled tokenizer on ~1k tokens)."""
    lexical_weight: float = 0.5
    """Weight of the lexical loss (MSE to base embeddings of tokens the base vocabulary has)."""
    identity_steps: int = 0
    """Warm-up steps of the identity loss only (no base-model forward)."""
    identity_batch: int = 1024
    """Random base tokens per identity step."""
    checkpoint_every: int = 50
    """Steps between checkpoints."""
    keep_checkpoints: int = 2
    """Most recent checkpoints kept."""
    eval_every: int = 50
    """Steps between bits-per-byte evaluations on eval_tokenizers (0 = only at the start and the end)."""
    eval_tokenizers: list[str] = field(default_factory=list)
    """Target tokenizer folders for the bpb-vs-step curve (valid split of their languages)."""
    eval_max_bytes: int = 4000
    """Valid-split bytes per language scored at each evaluation."""
    embed_batch_tokens: int = 65536
    """Pieces per hypernetwork batch when embedding a whole vocabulary."""
    bf16: bool = True
    """bf16 autocast on GPU (CPU runs in float32)."""
    deterministic: bool = True
    """On CPU, torch's deterministic algorithms (the stage turns them on): reruns and resumes are bit-identical
    with any number of threads, at no measured cost (64.5 vs 63.9 s for 7 steps)."""
    seed: int = 0
    """Seed of every random draw."""
    model: HypernetConfig = field(default_factory=HypernetConfig)
    """Hypernetwork architecture."""
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    """Tokenizer sampling."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "keep_checkpoints", "eval_max_bytes"):
            check(getattr(self, name) > 0, name, f"must be > 0, got {getattr(self, name)}")
        check(self.seq_len >= 2, "seq_len", f"must be >= 2, got {self.seq_len}")
        check(self.lr > 0, "lr", f"must be > 0, got {self.lr}")
        check(0.0 <= self.ema_decay < 1.0, "ema_decay", f"must be in [0, 1), got {self.ema_decay}")
        check(bool(self.langs), "langs", "must name at least one language")
        check(0 <= self.identity_steps <= self.steps, "identity_steps",
              f"must be in [0, steps], got {self.identity_steps}")

    def key(self, fingerprint: dict) -> str:
        """Checkpoint key: what must match for a resume (not the logging/eval knobs)."""
        skip = {"checkpoint_every", "keep_checkpoints", "eval_every", "eval_tokenizers", "eval_max_bytes",
                "embed_batch_tokens"}
        cfg = {k: v for k, v in asdict(self).items() if k not in skip}
        return hashlib.sha256(json.dumps([cfg, fingerprint], sort_keys=True).encode()).hexdigest()[:16]


def predict_bucketed(hyper, core: Hypernetwork, pieces) -> dict[str, torch.Tensor]:
    """Hypernetwork forward (with grad) bucketed by piece count; `hyper` is `core` or its DDP wrapper."""
    return core.finalize(hyper(pieces.ids, pieces.lengths, bucket=True), pieces)


class Trainer:
    def __init__(self, cfg: TrainConfig, model, base_hf, docs: dict[str, list[str]],
                 eval_texts: dict[str, dict[str, list[str]]] | None = None):
        from accelerate import Accelerator

        from tokshift.transfer import embedding_matrices

        self.cfg, self.base_hf = cfg, base_hf
        cuda = torch.cuda.is_available()  # cpu=True lets accelerate run several CPU processes on gloo
        self.acc = Accelerator(cpu=not cuda, mixed_precision="bf16" if cfg.bf16 and cuda else "no")
        torch.manual_seed(cfg.seed)  # same initial weights on every process
        self.model = model.to(self.acc.device).eval().requires_grad_(False)
        self.fingerprint = base_fingerprint(model)
        core = Hypernetwork(cfg.model, embedding_matrices(model)).to(self.acc.device)
        opt = torch.optim.AdamW(core.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        # The scheduler stays outside accelerate, which would step it once per process.
        self.sched = get_cosine_schedule_with_warmup(opt, cfg.warmup_steps, cfg.steps)
        self.hyper, self.opt = self.acc.prepare(core, opt)
        self.core = self.acc.unwrap_model(self.hyper)
        self.ema = None
        if cfg.ema_decay:
            self.ema = AveragedModel(self.core, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay))
            self.ema.update_parameters(self.core)  # the average starts at the initial network
        self.base_tok = base_hf.backend_tokenizer
        self.specials = special_tokens(base_hf)
        bos = base_hf.bos_token or base_hf.eos_token
        self.start = self.specials.index(bos) if bos in self.specials else 0  # documents start with BOS (or EOS)
        self.mask_id = self.specials.index(base_hf.mask_token) if base_hf.mask_token in self.specials else None
        self.special_rows = torch.tensor([base_hf.convert_tokens_to_ids(t) for t in self.specials],
                                         device=self.acc.device)
        self.base_vocab = base_hf.get_vocab()
        self.stream = TextStream(docs, cfg, self.base_tok, self.acc.process_index, self.acc.num_processes)
        self.eval_texts = eval_texts or {}
        self.rows: list[dict] = []
        self.bpb_rows: list[dict] = []
        self.step = 0
        self.earlier_seconds = 0.0  # spent by earlier runs of this training (from the checkpoint resumed)
        self.run_start = time.time()

    @property
    def seconds(self) -> float:
        """Wall seconds of this training so far, earlier (resumed) runs included."""
        return round(self.earlier_seconds + time.time() - self.run_start, 1)

    @property
    def final(self) -> Hypernetwork:
        """The network that is evaluated and saved: the weight average when ema_decay is on."""
        return self.ema.module if self.ema is not None else self.core

    # --- checkpoints -------------------------------------------------------------------------------
    def save_checkpoint(self, root: Path) -> None:
        if self.acc.is_main_process:
            with atomic_dir(root / f"step-{self.step:06d}") as tmp:
                save_hypernet(self.core, tmp, self.fingerprint)
                if self.ema is not None:
                    (tmp / "ema").mkdir()
                    save_hypernet(self.ema.module, tmp / "ema", self.fingerprint)
                torch.save({"optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict()},
                           tmp / "optim.pt")
                state = {"step": self.step, "rows": self.rows, "bpb_rows": self.bpb_rows,
                         "config": asdict(self.cfg), "base": self.fingerprint, "seconds": self.seconds}
                (tmp / "state.json").write_text(json.dumps(state) + "\n", encoding="utf-8")
            for old in sorted(root.glob("step-*"))[:-self.cfg.keep_checkpoints]:
                shutil.rmtree(old, ignore_errors=True)
        self.acc.wait_for_everyone()

    def load_checkpoint(self, folder: Path) -> None:
        """Weights, optimizer, scheduler, step and curves of `folder`; refuses another base model or config."""
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        check_fingerprint(state.get("base", {}), self.fingerprint, f"checkpoint {folder}")
        saved = state.get("config", {}).get("model")
        if saved != asdict(self.cfg.model):
            raise CheckpointMismatchError(f"checkpoint {folder} has hypernetwork config {saved}, this run "
                                          f"{asdict(self.cfg.model)}; use a fresh checkpoint folder")
        load_weights(self.core, folder / "hypernet.safetensors", "this run's hypernetwork", str(self.acc.device))
        if self.ema is not None:
            load_weights(self.ema.module, folder / "ema" / "hypernet.safetensors", "this run's weight average",
                         str(self.acc.device))
            self.ema.n_averaged.fill_(state["step"] + 1)
        optim = torch.load(folder / "optim.pt", weights_only=True, map_location=self.acc.device)
        self.opt.load_state_dict(optim["optimizer"])
        self.sched.load_state_dict(optim["scheduler"])
        self.step, self.rows, self.bpb_rows = state["step"], state["rows"], state["bpb_rows"]
        self.earlier_seconds = state.get("seconds", 0.0)  # checkpoints before this field: unknown, 0
        log.info("resumed from %s (step %d)", folder, self.step)

    # --- one step ----------------------------------------------------------------------------------
    def lm_step(self, gen: torch.Generator, rng: np.random.Generator) -> dict[str, float]:
        lang, texts = self.stream.push(self.step)
        sample: SampledTokenizer = sample_tokenizer(self.stream.counts[lang], self.base_tok, self.specials,
                                                    self.cfg.sampler, rng)
        start, dev = self.start, self.acc.device
        ids = torch.full((len(texts), self.cfg.seq_len), start, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, enc in enumerate(sample.tokenizer.encode_batch(texts, add_special_tokens=False)):
            seq = [start, *enc.ids[: self.cfg.seq_len - 1]]
            ids[row, :len(seq)], mask[row, :len(seq)] = torch.tensor(seq), 1
        words = sample.tokens[sample.n_special:]
        pieces = decompose_tokens(words, sample.tokenizer, self.base_tok, self.cfg.model.max_pieces)
        with self.acc.autocast():
            pred = predict_bucketed(self.hyper, self.core, pieces)
            mats = {n: torch.cat([getattr(self.core, f"base_{n}")[self.special_rows].to(pred[n].dtype), pred[n]])
                    for n in self.core.names}
            lm = lm_loss(self.model, mats, ids.to(dev), mask.to(dev), mask_id=self.mask_id,
                         special_ids=torch.arange(sample.n_special), generator=gen)
            known = [(i, self.base_vocab[w]) for i, w in enumerate(words) if w in self.base_vocab]
            rows = torch.tensor([i for i, _ in known], dtype=torch.long)
            lex = lexical_loss(self.core, pred, rows, torch.tensor([b for _, b in known], dtype=torch.long))
        loss = lm + self.cfg.lexical_weight * lex
        self.backward(loss)
        return {"loss": loss.item(), "lm_loss": lm.item(), "lexical_loss": lex.item(), "lang": lang,
                "vocab": len(sample.tokens), "tokens": int(mask.sum()), "truncated": pieces.truncated}

    def identity_step(self, gen: torch.Generator) -> dict[str, float]:
        with self.acc.autocast():
            loss = identity_loss(self.core, self.hyper, self.cfg.identity_batch, gen)
        self.backward(loss)
        return {"loss": loss.item(), "lm_loss": float("nan"), "lexical_loss": loss.item(), "lang": "",
                "vocab": 0, "tokens": 0, "truncated": 0}

    def backward(self, loss: torch.Tensor) -> None:
        self.acc.backward(loss)
        self.acc.clip_grad_norm_(self.hyper.parameters(), self.cfg.grad_clip)
        self.opt.step()
        self.sched.step()
        self.opt.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update_parameters(self.core)

    # --- evaluation ----------------------------------------------------------------------------------
    def evaluate(self, fvt: bool = False) -> dict[str, float]:
        """bpb of each eval tokenizer's valid text with hypernetwork (or FVT) embeddings; main process only."""
        from tokshift.evaluate import ScoreConfig, score_texts
        from tokshift.export import set_embeddings
        from tokshift.transfer import fvt_matrices

        out = {}
        if not self.acc.is_main_process or not self.eval_texts:
            return out
        if not hasattr(self, "eval_model"):
            self.eval_model = copy.deepcopy(self.model).float()
        for tok_dir, by_lang in self.eval_texts.items():
            target = AutoTokenizer.from_pretrained(tok_dir)
            if fvt:
                mats = fvt_matrices(self.model, target, self.base_hf)
            else:
                mats, _ = tokenizer_matrices(self.final, target, self.base_hf, self.cfg.embed_batch_tokens)
            set_embeddings(self.eval_model, {k: v.to(self.acc.device) for k, v in mats.items()}, target)
            nll = n_bytes = 0.0
            for lang, texts in by_lang.items():
                score = score_texts(self.eval_model, target, texts, ScoreConfig(512, 384, 4096), desc=f"eval {lang}")
                nll, n_bytes = nll + score.nll_bits, n_bytes + score.n_bytes
            out[Path(tok_dir).name] = round(nll / max(n_bytes, 1), 5)
        return out

    # --- the loop ------------------------------------------------------------------------------------
    def train(self, checkpoint_root: Path) -> dict:
        root = checkpoint_root / self.cfg.key(self.fingerprint)
        done = sorted(root.glob("step-*"))
        if done:
            self.load_checkpoint(done[-1])
        self.stream.replay(self.step)
        fvt = self.evaluate(fvt=True)
        if self.step == 0 and self.eval_texts:
            self.bpb_rows.append({"step": 0, **self.bpb_row(self.evaluate(), fvt)})
        self.hyper.train()
        t0, first = time.time(), len(self.rows)
        bar = tqdm(total=self.cfg.steps, initial=self.step, desc="hypernet", unit="step", disable=None)
        while self.step < self.cfg.steps:
            gen = torch.Generator().manual_seed(int(np.random.SeedSequence([self.cfg.seed, self.step,
                                                                            self.acc.process_index]).generate_state(1)[0]))
            rng = np.random.default_rng([self.cfg.seed, self.step, self.acc.process_index, 2])
            row = self.identity_step(gen) if self.step < self.cfg.identity_steps else self.lm_step(gen, rng)
            row = {"step": self.step + 1, **row, "lr": self.sched.get_last_lr()[0]}
            self.rows.append(row)
            self.step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{row['loss']:.3f}", lex=f"{row['lexical_loss']:.3f}")
            if self.step % 10 == 0 and self.acc.is_main_process:  # progress in logs too (tqdm is off without a tty)
                log.info("step %d/%d loss %.4f lexical %.5f (%.1f s/step)", self.step, self.cfg.steps, row["loss"],
                         row["lexical_loss"], (time.time() - t0) / max(1, len(self.rows) - first))
            last = self.step == self.cfg.steps
            if self.eval_texts and (last or (self.cfg.eval_every and self.step % self.cfg.eval_every == 0)):
                self.bpb_rows.append({"step": self.step, **self.bpb_row(self.evaluate(), fvt)})
                self.acc.wait_for_everyone()
                self.hyper.train()
            if last or self.step % self.cfg.checkpoint_every == 0:
                self.save_checkpoint(root)
        bar.close()
        return {"steps": self.step, "seconds_this_run": round(time.time() - t0, 1), "fvt_bpb": fvt,
                "final_bpb": self.bpb_rows[-1] if self.bpb_rows else {}}

    @staticmethod
    def bpb_row(hyper: dict[str, float], fvt: dict[str, float]) -> dict[str, float]:
        row = {f"{k}/hypernet": v for k, v in hyper.items()}
        row.update({f"{k}/fvt": v for k, v in fvt.items()})
        return row
