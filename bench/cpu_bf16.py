"""bf16 autocast on a bf16-native CPU (AVX512-BF16 / AMX) against float32, in one run on the same inputs.

    python bench/cpu_bf16.py [--langs de,ja,code] [--max-bytes 8000] [--steps 4]

- scorer: seconds of `score_texts` (evaluate's scorer) over the first --max-bytes of each language's test
  sample, float32 and bf16, the ratio, the bpb of each and the largest per-chunk relative difference;
- hypernetwork: seconds per training step (Trainer.lm_step) at params.yaml's size, same steps and seed on
  both sides, the ratio, and the losses of the first step.

Needs storage/models/base, storage/corpus and storage/samples (dvc repro samples base_model). On a CPU
without native bf16 the stages stay in float32 (core.device.uses_bf16); this script still forces both
sides, so it shows what emulated bf16 would cost there.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch

from tokshift.core.device import cpu_has_bf16
from tokshift.core.params import load_section
from tokshift.data.corpus import read_corpus
from tokshift.data.samples import sample_texts
from tokshift.hypernet.config import TrainConfig
from tokshift.hypernet.loop import Trainer
from tokshift.model.base import load_model
from tokshift.model.score import score_texts


def timed_score(model, tok, texts: list[str], bf16: bool):
    t = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        score = score_texts(model, tok, texts)
    return time.perf_counter() - t, score


def step_seconds(cfg: TrainConfig, model, base_hf, docs, steps: int) -> tuple[list[float], float]:
    torch.manual_seed(0)
    trainer = Trainer(cfg, model, base_hf, docs)
    trainer.stream.replay(0)
    seconds, first = [], None
    for _ in range(steps + 1):
        t = time.perf_counter()
        out = trainer.lm_step(torch.Generator().manual_seed(trainer.step))
        seconds.append(time.perf_counter() - t)
        first = out["loss"] if first is None else first
        trainer.step += 1
    trainer.batches.close()
    return seconds[1:], first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="storage/models/base")
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--samples", default="storage/samples/samples.parquet")
    parser.add_argument("--langs", default="de,ja,code")
    parser.add_argument("--max-bytes", type=int, default=8000)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per side (after one untimed)")
    args = parser.parse_args()
    print(f"CPU multiplies bf16 natively: {cpu_has_bf16()}; torch threads: {torch.get_num_threads()}")
    model, tok = load_model(args.model)
    model.eval()

    print("\nscorer (score_texts), float32 vs bf16 autocast")
    totals = {False: 0.0, True: 0.0}
    for lang in args.langs.split(","):
        texts = sample_texts(args.samples, "test", lang, "--langs", args.max_bytes)
        timed_score(model, tok, texts[:2], False)  # warm-up
        (s32, f32), (s16, b16) = timed_score(model, tok, texts, False), timed_score(model, tok, texts, True)
        totals[False] += s32
        totals[True] += s16
        worst = max(abs(b / a - 1) for a, b in zip(f32.doc_bits, b16.doc_bits, strict=True))
        print(f"  {lang:<5} {len(texts):3d} chunks  float32 {s32:6.1f} s  bf16 {s16:6.1f} s  {s32 / s16:4.2f}x   "
              f"bpb {f32.nll_bits / f32.n_bytes:.4f} vs {b16.nll_bits / b16.n_bytes:.4f} "
              f"({100 * (b16.nll_bits / f32.nll_bits - 1):+.3f}%), worst chunk {100 * worst:.2f}%")
    print(f"  all   float32 {totals[False]:.1f} s, bf16 {totals[True]:.1f} s: {totals[False] / totals[True]:.2f}x")

    print(f"\nhypernetwork steps (Trainer.lm_step, params.yaml size, mean of {args.steps} after one untimed)")
    cfg = replace(load_section(args.params, "hypernet", TrainConfig), eval_tokenizers=[], prefetch=False,
                  device="cpu")
    docs = {lang: read_corpus(args.corpus, split="train", lang=lang).column("text").to_pylist() for lang in cfg.langs}
    sides = {}
    for bf16 in (False, True):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            seconds, loss = step_seconds(replace(cfg, bf16=False), model, base_hf=tok, docs=docs, steps=args.steps)
        sides[bf16] = statistics.mean(seconds)
        print(f"  {'bf16' if bf16 else 'float32':<8} {sides[bf16]:6.2f} s/step  first loss {loss:.4f}")
    print(f"  ratio: {sides[False] / sides[True]:.2f}x steps/s with bf16")


if __name__ == "__main__":
    main()
