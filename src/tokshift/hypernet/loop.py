"""Hypernetwork training: sample a tokenizer, re-tokenize a batch (batch.py), predict its embeddings, a loss
through the frozen base model (`objective`: the LM loss, or the model-aware terms of distill.py) + lexical
loss, AdamW with warmup + cosine decay and gradient clipping.

Runs unchanged as one process or under `torchrun` / `accelerate launch` (DDP through `accelerate`; each
process samples its own tokenizer and language). Everything random in a step is drawn from a generator
seeded by (seed, step, rank), so a run resumed from a checkpoint (weights, optimizer, scheduler, step)
continues exactly as if it had never stopped; the text cache is rebuilt by replaying the steps before.
Checkpoints live under `checkpoint_dir/<key>`, where the key hashes the config and the base model, so a
changed config starts fresh instead of resuming something else. Leaves out: gradient accumulation.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from tokshift.core.atomic import atomic_dir
from tokshift.core.device import mixed_precision, resolve_device
from tokshift.core.params import check
from tokshift.hypernet.batch import BatchMaker, Prefetcher
from tokshift.hypernet.compose import Composer
from tokshift.hypernet.config import OBJECTIVES, TrainConfig
from tokshift.hypernet.curve import ValidCurve
from tokshift.hypernet.distill import default_layers, distill_terms
from tokshift.hypernet.folder import (
    CheckpointMismatchError,
    base_fingerprint,
    check_fingerprint,
    load_weights,
    save_hypernet,
)
from tokshift.hypernet.model import Hypernetwork
from tokshift.hypernet.objective import check_terms, is_causal, lexical_loss, lm_loss
from tokshift.hypernet.schedule import phased_cosine
from tokshift.hypernet.stream import TextStream
from tokshift.model.embeddings import embedding_matrices
from tokshift.tokenization.specials import special_strings

log = logging.getLogger(__name__)


def predict_bucketed(hyper, core: Hypernetwork, pieces) -> dict[str, torch.Tensor]:
    """Hypernetwork forward (with grad) bucketed by piece count; `hyper` is `core` or its DDP wrapper."""
    return core.finalize(hyper(pieces.ids, pieces.lengths, bucket=True), pieces)


class Trainer:
    def __init__(self, cfg: TrainConfig, model, base_hf, docs: dict[str, list[str]],
                 eval_texts: dict[str, dict[str, list[str]]] | None = None, prefix: str = ""):
        """`prefix`: text an encoder expects before its inputs (e5: "query: "), used by its evaluation."""
        from accelerate import Accelerator

        self.cfg, self.base_hf = cfg, base_hf
        device = resolve_device(cfg.device, "hypernet.device")  # cpu=True: CPU processes on gloo
        self.acc = Accelerator(cpu=device.type != "cuda", mixed_precision=mixed_precision(device, cfg.bf16))
        torch.manual_seed(cfg.seed)  # same initial weights on every process
        self.model = model.to(self.acc.device).eval().requires_grad_(False)
        self.fingerprint = base_fingerprint(model)
        core = Hypernetwork(cfg.model, embedding_matrices(model)).to(self.acc.device)
        opt = torch.optim.AdamW(core.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        # The scheduler stays outside accelerate, which would step it once per process.
        self.sched = phased_cosine(opt, cfg.warmup_steps, [cfg.compose_steps, cfg.steps - cfg.compose_steps])
        self.hyper, self.opt = self.acc.prepare(core, opt)
        self.core = self.acc.unwrap_model(self.hyper)
        self.ema = None
        if cfg.ema_decay:
            self.ema = AveragedModel(self.core, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay))
            self.ema.update_parameters(self.core)  # the average starts at the initial network
        self.base_tok = base_hf.backend_tokenizer
        self.composer = (Composer(self.base_tok, cfg.model.max_pieces, cfg.compose_holdout, cfg.seed,
                                  cfg.compose_identity) if cfg.compose_steps else None)
        self.heldout: dict[str, float] = {}  # the warm-up's held-out loss at its start, its end and the end
        self.specials = special_strings(base_hf, named_only=cfg.sampler.specials == "named")
        bos = base_hf.bos_token or base_hf.eos_token
        self.start = self.specials.index(bos) if bos in self.specials else 0  # documents start with BOS (or EOS)
        self.mask_id = self.specials.index(base_hf.mask_token) if base_hf.mask_token in self.specials else None
        self.special_rows = torch.tensor([base_hf.convert_tokens_to_ids(t) for t in self.specials],
                                         device=self.acc.device)
        self.stream = TextStream(docs, cfg.stream(), self.base_tok, self.acc.process_index, self.acc.num_processes)
        self.bidirectional = not is_causal(model)  # an encoder: every state reads the whole text
        check_terms(cfg, model, self.bidirectional)
        check(not cfg.model.untie or model.get_output_embeddings() is not None, "model.untie",
              f"{type(model).__name__} has no LM head to untie; set hypernet.model.untie: false")
        self.layers = cfg.hidden_layers or (model.config.num_hidden_layers if self.bidirectional
                                            else default_layers(model))
        check(self.layers <= model.config.num_hidden_layers, "hidden_layers",
              f"must be <= the base model's {model.config.num_hidden_layers} blocks, got {self.layers}")
        self.weights = {"lm": 1.0, "hidden": cfg.hidden_weight, "segment": cfg.segment_weight,
                        "pooled": cfg.pooled_weight}
        ends = {}
        if self.bidirectional and cfg.needs_teacher:  # both sequences close with EOS (</s>), as the encoder's own
            eos = base_hf.eos_token or base_hf.sep_token
            ends = {"end": self.specials.index(eos), "base_end": base_hf.convert_tokens_to_ids(eos)}
        maker = BatchMaker(self.stream, self.base_tok, self.specials, self.start, int(self.special_rows[self.start]),
                           cfg.seq_len, cfg.model.max_pieces, cfg.sampler, cfg.seed, cfg.needs_teacher,
                           used_only=lambda step: cfg.terms(step) <= {"hidden", "pooled"}, **ends)
        self.batches = Prefetcher(maker, cfg.steps, background=cfg.prefetch)
        self.eval_texts = eval_texts or {}
        self.curve = ValidCurve(model, base_hf, self.eval_texts, self.bidirectional, prefix, cfg.seq_len,
                                cfg.embed_batch_tokens)
        self.metric = self.curve.metric
        self.rows: list[dict] = []
        self.bpb_rows: list[dict] = []
        self.step = 0
        self.earlier_seconds = 0.0  # spent by earlier runs of this training (from the checkpoint resumed)
        self.eval_seconds = 0.0  # spent evaluating, earlier runs included
        self.run_start = time.time()

    @property
    def seconds(self) -> float:
        """Wall seconds of this training so far, earlier (resumed) runs included."""
        return self.earlier_seconds + time.time() - self.run_start

    @property
    def train_seconds(self) -> float:
        """Wall seconds spent training (evaluations left out), earlier (resumed) runs included."""
        return round(self.seconds - self.eval_seconds, 1)

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
                         "config": asdict(self.cfg), "base": self.fingerprint, "seconds": self.seconds,
                         "eval_seconds": self.eval_seconds, "heldout": self.heldout}
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
        self.eval_seconds = state.get("eval_seconds", 0.0)
        self.heldout = state.get("heldout", {})
        log.info("resumed from %s (step %d)", folder, self.step)

    # --- one step ----------------------------------------------------------------------------------
    def lm_step(self, gen: torch.Generator) -> dict[str, float]:
        batch = self.batches.get(self.step)
        terms, dev = self.cfg.terms(self.step), self.acc.device
        ids, mask = batch.ids.to(dev), batch.mask.to(dev)
        losses = dict.fromkeys(OBJECTIVES, float("nan"))
        with self.acc.autocast():
            pred = predict_bucketed(self.hyper, self.core, batch.pieces)
            mats = {n: torch.cat([getattr(self.core, f"base_{n}")[self.special_rows].to(pred[n].dtype), pred[n]])
                    for n in self.core.names}
            if terms == {"lm"}:
                terms_loss = {"lm": lm_loss(self.model, mats, ids, mask, mask_id=self.mask_id,
                                            special_ids=torch.arange(batch.sample.n_special), generator=gen)}
            else:
                terms_loss = distill_terms(self.model, batch, mats, ids, mask, terms, self.layers)
            lex = lexical_loss(self.core, pred, batch.known_rows, batch.known_base)
        loss = self.cfg.lexical_weight * lex
        for name, value in terms_loss.items():
            loss = loss + self.weights[name] * value
            losses[name] = value.item()
        self.backward(loss)
        return {"loss": loss.item(), "lm_loss": losses["lm"], "lexical_loss": lex.item(),
                "hidden_loss": losses["hidden"], "segment_loss": losses["segment"], "pooled_loss": losses["pooled"],
                "lang": batch.lang,
                "vocab": len(batch.sample.tokens), "tokens": int(batch.mask.sum()), "truncated": batch.pieces.truncated}

    def compose_step(self, gen: torch.Generator) -> dict[str, float]:
        with self.acc.autocast():
            loss = self.composer.step_loss(self.core, self.hyper, self.cfg.compose_batch, gen)
        self.backward(loss)
        return {"loss": loss.item(), "lm_loss": float("nan"), "lexical_loss": loss.item(), "hidden_loss": float("nan"),
                "segment_loss": float("nan"), "pooled_loss": float("nan"), "lang": "", "vocab": 0, "tokens": 0,
                "truncated": 0}

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
        """The valid curve's metric (curve.py) of each eval tokenizer with hypernetwork (or FVT) embeddings; main
        process only."""
        out, start = {}, time.time()
        if not self.acc.is_main_process or not self.eval_texts:
            return out
        out = self.curve.score(None if fvt else self.final, self.acc.device)
        self.eval_seconds += time.time() - start
        return out

    def measure_heldout(self) -> None:
        """The warm-up's held-out loss of the saved network at this step (timed as evaluation, not training)."""
        if self.composer is not None:
            start = time.time()
            self.heldout[f"step_{self.step}"] = self.composer.heldout_loss(self.final)
            self.eval_seconds += time.time() - start

    # --- the loop ------------------------------------------------------------------------------------
    def train(self, checkpoint_root: Path) -> dict:
        root = checkpoint_root / self.cfg.key(self.fingerprint)
        done = sorted(root.glob("step-*"))
        if done:
            self.load_checkpoint(done[-1])
        self.stream.replay(self.step)
        fvt = self.evaluate(fvt=True)
        if self.step == 0 and self.eval_texts:
            self.bpb_rows.append({"step": 0, "seconds": 0.0, **self.bpb_row(self.evaluate(), fvt)})
        self.hyper.train()
        t0, first = time.time(), len(self.rows)
        bar = tqdm(total=self.cfg.steps, initial=self.step, desc="hypernet", unit="step", disable=None)
        while self.step < self.cfg.steps:
            gen = torch.Generator().manual_seed(int(np.random.SeedSequence([self.cfg.seed, self.step,
                                                                            self.acc.process_index]).generate_state(1)[0]))
            if self.step in (0, self.cfg.compose_steps):
                self.measure_heldout()
            row = self.compose_step(gen) if self.step < self.cfg.compose_steps else self.lm_step(gen)
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
                self.bpb_rows.append({"step": self.step, "seconds": self.train_seconds,
                                      **self.bpb_row(self.evaluate(), fvt)})
                self.acc.wait_for_everyone()
                self.hyper.train()
            if last or self.step % self.cfg.checkpoint_every == 0:
                self.save_checkpoint(root)
        bar.close()
        self.measure_heldout()
        self.batches.close()
        return {"steps": self.step, "seconds_this_run": round(time.time() - t0, 1), "fvt_bpb": fvt,
                "final_bpb": self.bpb_rows[-1] if self.bpb_rows else {}}

    @staticmethod
    def bpb_row(hyper: dict[str, float], fvt: dict[str, float]) -> dict[str, float]:
        row = {f"{k}/hypernet": v for k, v in hyper.items()}
        row.update({f"{k}/fvt": v for k, v in fvt.items()})
        return row
