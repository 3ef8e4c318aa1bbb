"""Untied heuristic outputs: FVT input rows with the output rows of each target token taken from its first or its
last base piece instead of their mean, against tied FVT, on the valid sample with paired 95% intervals over documents.

The question (what *starts* a token should say how likely it is next): does a first-piece output matrix beat FVT's
mean? Prints one line per tokenizer and variant. Example (the table in docs/hypernet.md):

    python bench/fvt_output_rows.py --tokenizers storage/tokenizers/de-bpe-16k storage/tokenizers/code-bpe-16k
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch
from transformers import AutoTokenizer

from tokshift.core.device import autocast, resolve_device
from tokshift.core.params import load_section
from tokshift.data.samples import sample_chunks, size
from tokshift.evaluation.evaluate import EvaluateConfig
from tokshift.heuristics.fvt import apply_plan, fvt_plan
from tokshift.model.base import load_model
from tokshift.model.embeddings import embedding_matrices, set_embeddings
from tokshift.model.score import score_texts
from tokshift.stats.bootstrap import paired_relative_difference, ratio_interval
from tokshift.tokenization.specials import special_map
from tokshift.tokenization.training import tokenizer_langs


def rows(spelling: list[list[int]], shared: torch.Tensor, specials: dict[int, int]) -> torch.Tensor:
    """Each token the mean of the base rows in its spelling; special tokens copy the base's."""
    mat = apply_plan(spelling, shared)
    for tid, bid in specials.items():
        mat[tid] = shared[bid]
    return mat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="evaluate section: scorer, bf16, draws")
    parser.add_argument("--model", default="storage/models/base")
    parser.add_argument("--samples", default="storage/samples/samples.parquet")
    parser.add_argument("--tokenizers", nargs="+", default=[f"storage/tokenizers/{t}" for t in
                        ("de-bpe-16k", "ru-bpe-16k", "ja-unigram-16k", "code-bpe-16k")])
    args = parser.parse_args()
    cfg = load_section(args.params, "evaluate", EvaluateConfig)
    device = resolve_device(cfg.device, "evaluate.device")
    model, base = load_model(args.model, device=device)
    shared = embedding_matrices(model)["input"].float().cpu()
    for tok_dir in args.tokenizers:
        target = AutoTokenizer.from_pretrained(tok_dir)
        plan, _ = fvt_plan(target.backend_tokenizer, base.backend_tokenizer)
        specials = special_map(target, base)

        fvt = rows(plan, shared, specials)
        variants = {"fvt (tied)": {"input": fvt},
                    "first-piece output": {"input": fvt, "output": rows([p[:1] for p in plan], shared, specials)},
                    "last-piece output": {"input": fvt, "output": rows([p[-1:] for p in plan], shared, specials)}}
        for lang in tokenizer_langs(tok_dir):
            chunks = sample_chunks(args.samples, "valid", lang, "--tokenizers")
            docs, n_bytes = [c["doc_id"] for c in chunks], [size(c["text"]) for c in chunks]
            bits = {}
            for name, mats in variants.items():
                moved = copy.deepcopy(model)
                set_embeddings(moved, {k: v.to(device) for k, v in mats.items()}, target)
                with autocast(device, cfg.bf16):
                    bits[name] = score_texts(moved, target, [c["text"] for c in chunks], cfg.score, desc=name).doc_bits
                bpb = ratio_interval(bits[name], n_bytes, docs, cfg.draws, 0)
                line = f"{Path(tok_dir).name} {lang} {name}: bpb {bpb.value:.4f} [{bpb.lo:.4f}, {bpb.hi:.4f}]"
                if name != "fvt (tied)":
                    d = paired_relative_difference(bits[name], bits["fvt (tied)"], docs, cfg.draws, 0)
                    line += f", vs FVT {d.value:+.1%} [{d.lo:+.1%}, {d.hi:+.1%}]"
                print(line, flush=True)


if __name__ == "__main__":
    main()
