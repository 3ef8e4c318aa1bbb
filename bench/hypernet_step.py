"""Where one hypernetwork training step's time goes, and what each objective's step costs.

Part 1 splits default `lm` steps (params.yaml: hypernet) into: tokenizer sampling, re-tokenization,
pieces of the sampled vocabulary, hypernetwork forward, base forward through the blocks, logits over
the sampled vocabulary (+ loss), base backward, hypernetwork backward, optimizer + weight average.
The blocks are timed in a forward without gradient; "logits + loss" is the rest of the forward with it.
Part 2 times whole steps (Trainer.lm_step): `lm` with and without the background batch builder, and
each other objective, as ratios to the `lm` step without it, all in this run on the same steps.

    python bench/hypernet_step.py --steps 6
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch

from tokshift.core.params import load_section
from tokshift.data.corpus import read_corpus
from tokshift.hypernet.config import TrainConfig
from tokshift.hypernet.distill import forward_states
from tokshift.hypernet.loop import Trainer, predict_bucketed
from tokshift.hypernet.objective import causal_ce, lexical_loss
from tokshift.model.base import load_model
from tokshift.model.embeddings import embedding_params


def split_step(trainer: Trainer) -> dict[str, float]:
    """One default lm step, timed part by part (the batch built in the foreground)."""
    times, t = {}, time.perf_counter()
    batch = trainer.batches.maker.make(trainer.step)
    times.update({f"prep:{k}": v for k, v in batch.seconds.items() if k != "teacher"})
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        times[name] = now - t
        t = now

    core, model = trainer.core, trainer.model
    pred = predict_bucketed(trainer.hyper, core, batch.pieces)
    mats = {n: torch.cat([getattr(core, f"base_{n}")[trainer.special_rows], pred[n]]) for n in core.names}
    lap("hypernet forward")
    n_blocks = model.config.num_hidden_layers
    inputs = {"inputs_embeds": mats["input"][batch.ids], "attention_mask": batch.mask}
    params = embedding_params(model, mats)
    with torch.no_grad():
        forward_states(model, inputs, n_blocks, stop=True, params=params)
    blocks = time.perf_counter() - t
    _, logits = forward_states(model, inputs, n_blocks, stop=False, params=params)
    loss = causal_ce(logits, batch.ids, batch.mask) + 0.5 * lexical_loss(core, pred, batch.known_rows, batch.known_base)
    full = time.perf_counter() - t - blocks
    times["base forward (blocks)"] = blocks
    times["logits + loss"] = max(0.0, full - blocks)
    t = time.perf_counter()
    outs = [pred[n] for n in core.names]
    grads = torch.autograd.grad(loss, outs, retain_graph=True)
    lap("base backward")
    torch.autograd.backward(outs, grads)
    lap("hypernet backward")
    trainer.opt.step()
    trainer.sched.step()
    trainer.opt.zero_grad(set_to_none=True)
    if trainer.ema is not None:
        trainer.ema.update_parameters(core)
    lap("optimizer + average")
    trainer.step += 1
    return times


def step_seconds(trainer: Trainer, steps: int) -> list[float]:
    out = []
    for _ in range(steps):
        t = time.perf_counter()
        trainer.lm_step(torch.Generator().manual_seed(trainer.step))
        out.append(time.perf_counter() - t)
        trainer.step += 1
    trainer.batches.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="storage/models/base")
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per variant (after one untimed)")
    parser.add_argument("--objectives", default="lm,hidden,hidden+lm,segment")
    args = parser.parse_args()
    torch.manual_seed(0)
    cfg = replace(load_section(args.params, "hypernet", TrainConfig), eval_tokenizers=[], ema_decay=0.99)
    model, base_hf = load_model(args.model)
    docs = {lang: read_corpus(args.corpus, split="train", lang=lang).column("text").to_pylist() for lang in cfg.langs}

    trainer = Trainer(replace(cfg, objective="lm", prefetch=False), model, base_hf, docs)
    trainer.stream.replay(0)
    split_step(trainer)  # warm-up
    parts = [split_step(trainer) for _ in range(args.steps)]
    total = sum(statistics.mean(p[k] for p in parts) for k in parts[0])
    print(f"default lm step, mean of {args.steps} (batch built in the foreground): {total:.2f} s")
    for key in parts[0]:
        mean = statistics.mean(p[key] for p in parts)
        print(f"  {key:<24} {mean:7.3f} s  {100 * mean / total:5.1f}%")

    variants = [("lm", False), ("lm", True)] + [(o, False) for o in args.objectives.split(",") if o != "lm"]
    base = None
    print(f"\nwhole steps (Trainer.lm_step, mean of {args.steps} after one untimed), ratio to lm without prefetch")
    for objective, prefetch in variants:
        trainer = Trainer(replace(cfg, objective=objective, prefetch=prefetch), model, base_hf, docs)
        trainer.stream.replay(0)
        seconds = step_seconds(trainer, args.steps + 1)[1:]
        mean = statistics.mean(seconds)
        base = base or mean
        print(f"  {objective:<12} prefetch={str(prefetch):<5} {mean:6.2f} s/step  {base / mean:5.2f}x steps/s")


if __name__ == "__main__":
    main()
