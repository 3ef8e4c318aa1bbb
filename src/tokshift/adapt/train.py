"""Continue training a transferred model on its own tokenizer (n-shot adaptation), resumably.

The base model gets the transfer folder's embeddings (apply_transfer, which refuses a folder made for
another base model), then trains with the causal LM loss (the masked LM loss for an encoder,
masked.py) on the train split of the tokenizer's languages: the embeddings only, the embeddings plus
LoRA adapters, or every weight (trainable.py), optionally after a warm-up of aligned early-layer
distillation (warmup.py; causal models). An exponential moving average of the trained weights can be what is
evaluated and saved. Runs as one process or under `torchrun` / `accelerate launch` (DDP through
accelerate: each process takes its share of every batch, so the step is the single-process step).
Checkpoints (trainable weights, average, optimizer, scheduler, curve) are written atomically every
`checkpoint_every` steps under a folder keyed by the config and the transfer, so a killed run resumes
exactly and a changed config starts fresh. The result is a transfer folder (method `<init>+adapt`)
that evaluate, export and the model card read like any other. Leaves out: gradient accumulation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch.optim.swa_utils import get_ema_multi_avg_fn
from tqdm import tqdm
from transformers import get_cosine_schedule_with_warmup

from tokshift.adapt.config import AdaptConfig
from tokshift.adapt.data import Batches, token_chunks
from tokshift.adapt.masked import mask_tokens, pseudo_bits, start_id
from tokshift.adapt.trainable import add_projector, is_projector, lora_model, merge_projector, parameter_groups
from tokshift.adapt.warmup import DistillBatches, distill_loss
from tokshift.core.atomic import atomic_dir
from tokshift.core.device import autocast, mixed_precision, resolve_device
from tokshift.core.errors import InputError
from tokshift.core.params import check
from tokshift.core.tensors import load_tensors
from tokshift.data.corpus import capped_texts, split_texts
from tokshift.data.samples import valid_texts
from tokshift.hypernet.distill import default_layers
from tokshift.model.base import is_headless_encoder, is_masked_lm, load_model
from tokshift.model.embeddings import embedding_matrices, embedding_param_ids
from tokshift.model.score import ScoreConfig, bos_id, score_texts
from tokshift.transfers.folder import apply_transfer, read_transfer, write_transfer

log = logging.getLogger(__name__)


def checkpoint_key(cfg: AdaptConfig, transfer_dir: Path) -> str:
    key = hashlib.sha256(json.dumps(asdict(cfg), sort_keys=True).encode())
    key.update((transfer_dir / "embeddings.safetensors").read_bytes())
    return key.hexdigest()[:16]


class Adaptation:
    """One adaptation run: model with the transfer applied, data, optimizer, curve, checkpoints."""

    def __init__(self, cfg: AdaptConfig, transfer_dir: Path, corpus: Path, base_model: str | None = None,
                 samples: Path | None = None):
        from accelerate import Accelerator

        self.cfg, self.transfer_dir = cfg, Path(transfer_dir)
        self.meta, _ = read_transfer(self.transfer_dir)  # first: a damaged folder is named before any work
        device = resolve_device(cfg.device, "adapt.device")  # cpu=True: CPU processes on gloo
        self.acc = Accelerator(cpu=device.type != "cuda", mixed_precision=mixed_precision(device, cfg.bf16))
        self.device, self.is_main = self.acc.device, self.acc.is_main_process
        check(cfg.batch_size % self.acc.num_processes == 0, "adapt.batch_size",
              f"must be a multiple of the {self.acc.num_processes} processes, got {cfg.batch_size}")
        model, base_tok = load_model(str(base_model or self.meta["base_model"]), device=self.device)
        if is_headless_encoder(model.config):  # neither a next-token nor a masked-token head to train against
            raise InputError(f"{self.transfer_dir}: its base {type(model).__name__} has no language-model head "
                             f"(a sentence-embedding encoder), so there is no LM loss to adapt with; train the "
                             f"encoder hypernetwork (hidden/pooled objective) instead: `dvc repro encoder_hypernet`")
        self.masked = is_masked_lm(model.config)  # an encoder: masked-LM loss, pseudo-likelihood curve
        check(not (self.masked and cfg.distill_steps), "adapt.distill_steps",
              f"must be 0 for a masked LM ({type(model).__name__}): aligned states need a causal model")
        langs = self.meta.get("languages") or []
        where = f"{self.transfer_dir}/transfer.json: languages {langs}"
        self.valid = {lang: valid_texts(corpus, samples, lang, cfg.eval_max_bytes, "languages") for lang in langs}
        # the level to reach: the original model with its own tokenizer (main process only, which evaluates)
        self.original_bpb = self.valid_bpb(model, base_tok)["bpb"] if self.is_main else None
        teacher_input = model.get_input_embeddings().weight.detach().clone() if cfg.distill_steps else None
        self.tokenizer = apply_transfer(model, self.transfer_dir)
        if self.masked and self.tokenizer.mask_token_id is None:
            raise InputError(f"{self.transfer_dir}: the target tokenizer has no mask token to train the masked LM "
                             f"{type(model).__name__} with; give it the base model's mask token")
        train = capped_texts([t for lang in langs for t in split_texts(corpus, "train", lang, "languages")],
                             cfg.max_train_bytes)
        self.chunks = token_chunks(train, self.tokenizer, cfg.seq_len, where,
                                   start_id(self.tokenizer) if self.masked else None)
        self.warmup = None
        if cfg.distill_steps:
            self.teacher_input, self.layers = teacher_input, cfg.distill_layers or default_layers(model)
            check(self.layers <= model.config.num_hidden_layers, "adapt.distill_layers",
                  f"must be <= the model's {model.config.num_hidden_layers} blocks, got {self.layers}")
            self.warmup = DistillBatches(train, self.tokenizer.backend_tokenizer, base_tok.backend_tokenizer,
                                         (bos_id(self.tokenizer), bos_id(base_tok)), cfg.seq_len, cfg.batch_size,
                                         cfg.seed)
        if cfg.projector:
            add_projector(model)
        model = lora_model(model, cfg) if cfg.train == "lora" else model
        opt = torch.optim.AdamW(parameter_groups(model, cfg), weight_decay=cfg.weight_decay)
        # The scheduler stays outside accelerate, which would step it once per process.
        self.sched = get_cosine_schedule_with_warmup(opt, cfg.warmup_steps, cfg.steps)
        self.ddp, self.opt = self.acc.prepare(model, opt)
        self.model = self.acc.unwrap_model(self.ddp)
        self.ema = {n: p.clone() for n, p in self.trainable().items()} if cfg.ema_decay else None
        self.batches = Batches(len(self.chunks), cfg.batch_size, cfg.seed)
        self.step, self.rows, self.curve, self.earlier_seconds = 0, [], [], 0.0
        self.run_start = time.time()

    @property
    def seconds(self) -> float:
        return round(self.earlier_seconds + time.time() - self.run_start, 1)

    def trainable(self) -> dict[str, torch.Tensor]:
        return {n: p.detach() for n, p in self.model.named_parameters() if p.requires_grad}

    @contextmanager
    def averaged(self):
        """The weight average swapped into the model (when ema_decay is on), the trained weights back after."""
        if self.ema is None:
            yield
            return
        params = self.trainable()
        kept = {n: p.clone() for n, p in params.items()}
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(self.ema[n])
        try:
            yield
        finally:
            with torch.no_grad():
                for n, p in params.items():
                    p.copy_(kept[n])

    # --- checkpoints ---------------------------------------------------------------------------------
    def save_checkpoint(self, root: Path) -> None:
        if self.is_main:
            with atomic_dir(root / f"step-{self.step:06d}") as tmp:
                cpu = lambda ts: {k: v.cpu().contiguous() for k, v in ts.items()}  # noqa: E731
                save_file(cpu(self.trainable()), str(tmp / "trainable.safetensors"))
                if self.ema is not None:
                    save_file(cpu(self.ema), str(tmp / "ema.safetensors"))
                torch.save({"optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict()}, tmp / "optim.pt")
                state = {"step": self.step, "rows": self.rows, "curve": self.curve, "seconds": self.seconds,
                         "config": asdict(self.cfg)}
                (tmp / "state.json").write_text(json.dumps(state) + "\n", encoding="utf-8")
            for old in sorted(root.glob("step-*"))[:-2]:
                shutil.rmtree(old, ignore_errors=True)
        self.acc.wait_for_everyone()

    def load_checkpoint(self, folder: Path) -> None:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        fix = "delete the checkpoint folder to start afresh"
        saved = load_tensors(folder / "trainable.safetensors", fix, str(self.device))
        params = self.trainable()
        with torch.no_grad():
            for name, value in saved.items():
                params[name].copy_(value)
        if self.ema is not None:
            self.ema = load_tensors(folder / "ema.safetensors", fix, str(self.device))
        optim = torch.load(folder / "optim.pt", weights_only=True, map_location=self.device)
        self.opt.load_state_dict(optim["optimizer"])
        self.sched.load_state_dict(optim["scheduler"])
        self.step, self.rows, self.curve = state["step"], state["rows"], state["curve"]
        self.earlier_seconds = state["seconds"]
        log.info("adapt: resumed from %s (step %d)", folder, self.step)

    # --- training ------------------------------------------------------------------------------------
    @torch.no_grad()
    def valid_bpb(self, model, tokenizer) -> dict[str, float]:
        """Valid bits per byte per language and over all of them ('bpb')."""
        model.eval()
        row, bits, n_bytes = {}, 0.0, 0
        for lang, texts in self.valid.items():
            with autocast(self.device, self.cfg.bf16):
                if self.masked:
                    lang_bits, lang_bytes = pseudo_bits(model, tokenizer, texts, window=self.cfg.seq_len - 2)
                else:
                    score = score_texts(model, tokenizer, texts, ScoreConfig(), desc=f"valid {lang}")
                    lang_bits, lang_bytes = score.nll_bits, score.n_bytes
            row[lang] = round(lang_bits / max(lang_bytes, 1), 5)
            bits, n_bytes = bits + lang_bits, n_bytes + lang_bytes
        return {**row, "bpb": round(bits / max(n_bytes, 1), 5)}

    def evaluate(self) -> None:
        if self.is_main:
            with self.averaged():
                bpb = self.valid_bpb(self.model, self.tokenizer)
            self.curve.append({"step": self.step, "tokens": self.step * self.cfg.batch_size * self.cfg.seq_len,
                               "seconds": self.seconds, **bpb})
        self.acc.wait_for_everyone()
        self.ddp.train()

    def train_step(self) -> tuple[str, float]:
        """One optimizer step: (objective, loss averaged over the processes)."""
        rank, world = self.acc.process_index, self.acc.num_processes
        if self.step < self.cfg.distill_steps:
            objective, embed = "distill", self.model.get_input_embeddings().weight
            with self.acc.no_sync(self.ddp), self.acc.autocast():  # the model's own forward: averaged below
                loss = distill_loss(self.model, self.teacher_input, self.warmup.make(self.step, rank, world),
                                    self.layers)
            self.acc.backward(loss)
            for p in self.model.parameters():
                if p is not embed:  # only the input embeddings move during the warm-up
                    p.grad = None
            if world > 1:
                embed.grad = self.acc.reduce(embed.grad, "mean")
        else:
            objective = "lm"
            ids = inputs = labels = self.chunks[self.batches.rows(self.step)[rank::world]].to(self.device)
            if self.masked:
                gen = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + self.step * 1_009 + rank)
                inputs, labels = mask_tokens(ids, self.tokenizer.mask_token_id, self.tokenizer.all_special_ids, gen)
            loss = self.ddp(input_ids=inputs, labels=labels).loss
            self.acc.backward(loss)
        self.opt.step()
        self.sched.step()
        self.opt.zero_grad(set_to_none=True)
        if self.ema is not None:  # the hypernetwork trainer's average (torch's EMA update), over the trained weights
            params = self.trainable()
            get_ema_multi_avg_fn(self.cfg.ema_decay)(list(self.ema.values()), [params[n] for n in self.ema], None)
        return objective, float(self.acc.reduce(loss.detach(), "mean"))

    def run(self, checkpoints: Path) -> None:
        root = checkpoints / checkpoint_key(self.cfg, self.transfer_dir)
        found = sorted(root.glob("step-*"))
        if found:
            self.load_checkpoint(found[-1])
        if not self.curve:
            self.evaluate()
        self.ddp.train()
        bar = tqdm(total=self.cfg.steps, initial=self.step, desc="adapt", unit="step",
                   disable=None if self.is_main else True)
        while self.step < self.cfg.steps:
            start = time.time()
            objective, loss = self.train_step()
            self.step += 1
            tokens = self.cfg.batch_size * self.cfg.seq_len
            self.rows.append({"step": self.step, "objective": objective, "loss": round(loss, 5),
                              "tokens_per_second": round(tokens / max(time.time() - start, 1e-9), 1)})
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", tok_s=self.rows[-1]["tokens_per_second"])
            if self.step % 10 == 0 and self.is_main:  # progress in logs too (tqdm is off without a tty)
                log.info("adapt step %d/%d %s loss %.4f (%.0f tokens/s)", self.step, self.cfg.steps, objective, loss,
                         self.rows[-1]["tokens_per_second"])
            if self.step % self.cfg.eval_every == 0 or self.step == self.cfg.steps:
                self.evaluate()
            if self.step % self.cfg.checkpoint_every == 0 or self.step == self.cfg.steps:
                self.save_checkpoint(root)
        bar.close()

    def result(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict]:
        """(embedding matrices, changed transformer weights, transfer.json) of the adapted model (its average)."""
        with self.averaged():
            model = self.model.merge_and_unload() if self.cfg.train == "lora" else self.model
            embed = embedding_param_ids(model)
            weights = {} if self.cfg.train == "embeddings" else {
                n: p.detach().cpu().clone() for n, p in model.named_parameters() if id(p) not in embed
                and not is_projector(n)
                and (self.cfg.train == "all" or n.rsplit(".", 2)[-2] in self.cfg.lora_targets)}
            raw = {k: v.detach().cpu().float().clone() for k, v in embedding_matrices(model).items()}
            mats = {k: v.contiguous() for k, v in merge_projector(model, raw).items()}
        init = self.meta["method"]
        facts = {"init": init, "init_transfer": str(self.transfer_dir), "steps": self.step, "train": self.cfg.train,
                 "tokens": self.step * self.cfg.batch_size * self.cfg.seq_len, "distill_steps": self.cfg.distill_steps,
                 "ema_decay": self.cfg.ema_decay, "seconds": self.curve[-1]["seconds"],  # as trained, if read back too
                 "valid_bpb": self.curve[-1]["bpb"]}
        return mats, weights, {**self.meta, "method": f"{init}+adapt", "adapt": facts}


def adapt_transfer(transfer_dir: str | Path, corpus: str | Path, out_dir: str | Path, checkpoints: str | Path,
                   cfg: AdaptConfig, base_model: str | None = None, samples: str | Path | None = None) -> Adaptation:
    """Adapt the transfer in `transfer_dir` and write the result as a transfer folder at `out_dir`; the curve reads
    the evaluation sample's valid chunks where `samples` is given, else the corpus's first valid documents."""
    run = Adaptation(cfg, Path(transfer_dir), Path(corpus), base_model, Path(samples) if samples else None)
    run.run(Path(checkpoints))
    if run.is_main:
        mats, weights, meta = run.result()
        write_transfer(out_dir, run.tokenizer, mats, meta, weights)
    run.acc.wait_for_everyone()
    return run
