"""The model stages on CUDA against the CPU path, in one run: scorer, hypernetwork steps, FAISS index.

    bash bench/gpu_check.sh [--model DIR] [--steps 4] [--rows 100000]     # on a machine with a GPU

Prints throughput on each side and the ratio (CUDA / CPU), all measured in this run on the same inputs:
- scorer: tokens/s of `score_texts` (evaluate's scorer) on the same documents; CPU float32, CUDA float32
  and CUDA bf16 autocast (the stages' default on a GPU), with the bpb of each so the numbers can be compared;
- hypernetwork: seconds per training step (Trainer.lm_step) at params.yaml's size on both, and at the GPU
  preset's batch (presets/gpu.yaml) on CUDA only;
- index: build seconds and queries/s of params.yaml's index kind over a [rows, d] matrix, faiss on the CPU
  against faiss-gpu (when installed; else said).

Without --model the base is SmolLM2-135M's architecture with random weights (speed does not depend on the
weights; bpb then means nothing), with a byte-level BPE tokenizer trained here; the text is the corpus
stage's python_stdlib source, so nothing from storage/ is needed. bench/gpu_check.sh runs it on a GPU
machine and says how to bring the real weights (two parts) and faiss-gpu. `--cpu-only` tries the script
on a machine without a GPU (every side on the CPU).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from tokshift.core.device import autocast
from tokshift.core.params import load_section
from tokshift.data.corpus import CorpusConfig, SourceConfig, build_corpus, read_corpus
from tokshift.hypernet.config import TrainConfig
from tokshift.hypernet.loop import Trainer
from tokshift.large_vocab.folder import VocabIndexConfig
from tokshift.large_vocab.index import build_index, gpu_faiss, load_index
from tokshift.model.base import load_model
from tokshift.model.score import ScoreConfig, score_texts
from tokshift.tokenization.training import TokenizerConfig, train_tokenizer

GPU = "cuda"  # --cpu-only: "cpu", to try the script itself on a machine without a GPU
SMOLLM2 = {"hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
           "num_key_value_heads": 3, "max_position_embeddings": 8192, "rms_norm_eps": 1e-5,
           "rope_theta": 100000.0, "tie_word_embeddings": True}


def stdlib_corpus(work: Path) -> Path:
    """The corpus stage's python_stdlib source alone (the code domain): text that every machine has."""
    corpus = work / "corpus.parquet"
    build_corpus(CorpusConfig(sources=[SourceConfig(kind="python_stdlib", lang="code")]), corpus)
    return corpus


def random_base(work: Path, corpus: Path) -> Path:
    """A random-weight SmolLM2-135M-shaped Llama with a byte-level BPE tokenizer trained on `corpus`."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    train_tokenizer(corpus, TokenizerConfig(model="bpe", vocab_size=49152, langs=["code"]), work / "base-tok")
    tok = AutoTokenizer.from_pretrained(work / "base-tok")
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), bos_token_id=tok.bos_token_id,
                                         eos_token_id=tok.eos_token_id, **SMOLLM2))
    model.save_pretrained(work / "base")
    tok.save_pretrained(work / "base")
    return work / "base"


def timed(fn, sync: bool):
    if sync:
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if sync:
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def check_scorer(base: Path, texts: list[str]) -> None:
    print(f"\n== scorer (evaluate's score_texts), {sum(len(t.encode()) for t in texts):,} bytes")
    rates = {}
    for name, device, bf16 in [("cpu fp32", "cpu", False), ("cuda fp32", GPU, False), ("cuda bf16", GPU, True)]:
        model, tok = load_model(str(base), device=device)
        dev = torch.device(device)
        with autocast(dev, bf16):
            score_texts(model, tok, texts[:2], ScoreConfig(), desc="warm-up")
            score, seconds = timed(lambda m=model, t=tok, d=dev, b=bf16: score_texts(m, t, texts, ScoreConfig()),
                                   device == "cuda")
        rates[name] = score.n_tokens / seconds
        print(f"  {name:<10} {rates[name]:>12,.0f} tokens/s  bpb {score.bpb:.4f}  ({seconds:.2f} s)")
        del model
    for name in ("cuda fp32", "cuda bf16"):
        print(f"  {name} / cpu fp32: {rates[name] / rates['cpu fp32']:.1f}x")


def step_seconds(cfg: TrainConfig, base: Path, docs: dict[str, list[str]], steps: int) -> float:
    model, base_hf = load_model(str(base))
    trainer = Trainer(cfg, model, base_hf, docs)
    trainer.stream.replay(0)
    sync = trainer.acc.device.type == "cuda"
    seconds = []
    for _ in range(steps + 1):
        _, s = timed(lambda: trainer.lm_step(torch.Generator().manual_seed(trainer.step)), sync)
        trainer.step += 1
        seconds.append(s)
    trainer.batches.close()
    return statistics.mean(seconds[1:])  # the first step warms up kernels and caches


def check_hypernet(base: Path, corpus: Path, steps: int) -> None:
    cfg = replace(load_section("params.yaml", "hypernet", TrainConfig), eval_tokenizers=[], langs=["code"])
    docs = {"code": read_corpus(corpus, split="train", lang="code").column("text").to_pylist()}
    print(f"\n== hypernetwork steps (params.yaml size: {cfg.batch_size} x {cfg.seq_len} tokens), mean of {steps}")
    cpu = step_seconds(replace(cfg, device="cpu"), base, docs, steps)
    cuda = step_seconds(replace(cfg, device=GPU), base, docs, steps)
    print(f"  cpu {cpu:.3f} s/step   cuda (bf16) {cuda:.3f} s/step   cuda / cpu: {cpu / cuda:.1f}x steps/s")
    if GPU == "cpu":
        return
    big = replace(cfg, device=GPU, batch_size=128, sampler=replace(cfg.sampler, vocab_min=32768, vocab_max=32768))
    gpu = step_seconds(big, base, docs, steps)
    print(f"  cuda at the GPU preset's batch (128 x {cfg.seq_len}, 32k sampled tokens): {gpu:.3f} s/step, "
          f"{128 * cfg.seq_len / gpu:,.0f} tokens/s")


def check_index(rows: int, dim: int, queries: int) -> None:
    cfg = replace(load_section("params.yaml", "vocab_index", VocabIndexConfig).index, whiten=False)
    gen = np.random.default_rng(0)
    matrix = torch.from_numpy(gen.standard_normal((rows, dim), dtype=np.float32))
    q = torch.from_numpy(gen.standard_normal((queries, dim), dtype=np.float32))
    print(f"\n== index {cfg.kind} over {rows:,} x {dim} (nprobe {cfg.nprobe}), {queries} queries in one batch")
    sides = [("faiss cpu", False)] + ([("faiss gpu", True)] if gpu_faiss(cfg, GPU == "cuda") else [])
    if len(sides) == 1:
        print("  faiss-gpu is not installed here (or sees no GPU): CPU index only")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, gpu in sides:
            facts = build_index(matrix, cfg, Path(tmp) / name, gpu=gpu)
            index = load_index(Path(tmp) / name, matrix, cfg, gpu=gpu)
            index.search(q[:8].numpy(), 20)
            _, seconds = timed(lambda i=index: i.search(q.numpy(), 20), False)
            rates[name] = queries / seconds
            print(f"  {name}: build {facts['build_seconds']:.2f} s, search {rates[name]:,.0f} queries/s")
    if len(rates) == 2:
        print(f"  faiss gpu / cpu search: {rates['faiss gpu'] / rates['faiss cpu']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="real base model folder (default: random weights, same shape)")
    parser.add_argument("--corpus", default=None, help="corpus Parquet with a code domain (default: built from the "
                                                       "Python standard library)")
    parser.add_argument("--steps", type=int, default=4, help="timed hypernetwork steps per side")
    parser.add_argument("--rows", type=int, default=100_000, help="index rows")
    parser.add_argument("--queries", type=int, default=2048)
    parser.add_argument("--max-bytes", type=int, default=32_000, help="bytes of test text scored")
    parser.add_argument("--cpu-only", action="store_true", help="run the 'cuda' sides on the CPU (tries the script)")
    args = parser.parse_args()
    if args.cpu_only:
        global GPU
        GPU = "cpu"
    elif not torch.cuda.is_available():
        raise SystemExit("gpu_check: torch sees no CUDA GPU here; run it on a GPU machine")
    gpu_name = torch.cuda.get_device_name(0) if GPU == "cuda" else "no GPU (--cpu-only)"
    print(f"torch {torch.__version__}, {gpu_name}, {os.cpu_count()} CPU cores, "
          f"{torch.get_num_threads()} torch threads")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(args.corpus) if args.corpus else stdlib_corpus(Path(tmp))
        base = Path(args.model) if args.model else random_base(Path(tmp), corpus)
        texts, total = [], 0
        for text in read_corpus(corpus, split="test", lang="code").column("text").to_pylist():
            texts.append(text)
            total += len(text.encode())
            if total >= args.max_bytes:
                break
        check_scorer(base, texts)
        check_hypernet(base, corpus, args.steps)
    check_index(args.rows, SMOLLM2["hidden_size"], args.queries)


if __name__ == "__main__":
    main()
