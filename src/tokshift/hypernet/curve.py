"""The hypernetwork's valid curve: how good the embeddings it predicts for fixed target tokenizers are.

Causal (and masked) LMs: bits per byte of each eval tokenizer's valid text. Encoders without a head:
the pooled distance, mean 1 - cosine between the sentence embeddings (mean pooling) of the valid
paragraphs under the target tokenizer and under the original model and tokenizer (those computed
once). The same numbers for FVT embeddings give the level the hypernetwork starts from. Leaves out:
the training loop (loop.py), which calls `score` on its main process.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from tokshift.heuristics.fvt import fvt_matrices
from tokshift.hypernet.model import Hypernetwork
from tokshift.hypernet.predict import tokenizer_matrices
from tokshift.model.embeddings import set_embeddings
from tokshift.model.pooling import embed_texts
from tokshift.model.score import ScoreConfig, score_texts


class ValidCurve:
    def __init__(self, model: PreTrainedModel, base_hf: PreTrainedTokenizerBase,
                 eval_texts: dict[str, dict[str, list[str]]], bidirectional: bool, prefix: str = "",
                 max_length: int = 512, embed_batch_tokens: int = 32768):
        self.model, self.base_hf, self.eval_texts = model, base_hf, eval_texts
        self.bidirectional, self.prefix, self.max_length = bidirectional, prefix, max_length
        self.embed_batch_tokens = embed_batch_tokens
        self.metric = "pooled_distance" if bidirectional else "bpb"
        self.eval_model: PreTrainedModel | None = None  # a float copy that takes each target's embeddings
        self.references: dict[str, torch.Tensor] = {}  # original sentence embeddings of each tokenizer's text

    def score(self, hyper: Hypernetwork | None, device: torch.device) -> dict[str, float]:
        """{tokenizer name: metric} with the hypernetwork's embeddings (None: FVT's)."""
        if self.eval_model is None:
            self.eval_model = copy.deepcopy(self.model).float()
        out = {}
        for tok_dir, by_lang in self.eval_texts.items():
            target = AutoTokenizer.from_pretrained(tok_dir)
            if hyper is None:
                mats = fvt_matrices(self.model, target, self.base_hf)
            else:
                mats, _ = tokenizer_matrices(hyper, target, self.base_hf, self.embed_batch_tokens)
            set_embeddings(self.eval_model, {k: v.to(device) for k, v in mats.items()}, target)
            score = self.pooled_distance if self.bidirectional else self.bpb
            out[Path(tok_dir).name] = round(score(tok_dir, target, by_lang), 5)
        return out

    def bpb(self, _tok_dir: str, target: PreTrainedTokenizerBase, by_lang: dict[str, list[str]]) -> float:
        nll = n_bytes = 0.0
        for lang, texts in by_lang.items():
            score = score_texts(self.eval_model, target, texts, ScoreConfig(512, 384, 4096), desc=f"eval {lang}")
            nll, n_bytes = nll + score.nll_bits, n_bytes + score.n_bytes
        return nll / max(n_bytes, 1)

    def pooled_distance(self, tok_dir: str, target: PreTrainedTokenizerBase, by_lang: dict[str, list[str]]) -> float:
        paragraphs = [p for texts in by_lang.values() for t in texts for p in t.split("\n") if p.strip()]
        if tok_dir not in self.references:
            self.references[tok_dir] = embed_texts(self.model, self.base_hf, paragraphs, "mean", self.prefix,
                                                   max_length=self.max_length)
        moved = embed_texts(self.eval_model, target, paragraphs, "mean", self.prefix, max_length=self.max_length)
        return float((1 - (moved * self.references[tok_dir]).sum(1)).mean())
