"""What a transfer changes for the user who takes it home: parameters, bytes per token and generation speed.

Each transfer is exported (transfers/export.py) and loaded back with stock `AutoModelForCausalLM` /
`AutoTokenizer`, so every number is measured on the folder a user gets. Generation speed is bytes of text
written per second, greedy, on the machine's threads: a tokenizer that spends fewer tokens on the same text, and
a smaller output layer, both show in it. Every model writes exactly `new_tokens` tokens per prompt (the end of
text is suppressed), and the prompts are the openings of the shared test chunks. Leaves out: batched serving.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from tokshift.core.params import check
from tokshift.data.samples import sample_chunks
from tokshift.stats.bootstrap import paired_ratio_difference, ratio_interval
from tokshift.transfers.export import export
from tokshift.transfers.folder import read_meta


@dataclass
class SpeedConfig:
    langs: list[str] = field(default_factory=lambda: ["de", "en"])
    """Languages whose test chunks give the prompts; a transfer is timed on its tokenizer's languages among them."""
    prompts: int = 6
    """Prompts per language (the first chunks of the test sample, each from its own document where it can)."""
    prompt_bytes: int = 200
    """UTF-8 bytes of a chunk's opening used as the prompt (cut at a character boundary)."""
    new_tokens: int = 32
    """Tokens generated per prompt, greedy."""
    draws: int = 2000
    """Bootstrap resamples (of prompts) behind the intervals."""

    def __post_init__(self) -> None:
        check(bool(self.langs), "langs", "must name at least one language")
        check(self.prompts >= 2, "prompts", f"must be >= 2 (an interval needs them), got {self.prompts}")
        check(self.prompt_bytes >= 8, "prompt_bytes", f"must be >= 8, got {self.prompt_bytes}")
        check(self.new_tokens >= 1, "new_tokens", f"must be >= 1, got {self.new_tokens}")


def prompts(samples: Path, lang: str, cfg: SpeedConfig) -> list[str]:
    """The openings of the first `cfg.prompts` test chunks of `lang`, one per document while documents last."""
    chunks = sample_chunks(samples, "test", lang, "model_report.langs")
    firsts, rest, seen = [], [], set()
    for c in chunks:
        (rest if c["doc_id"] in seen else firsts).append(c)
        seen.add(c["doc_id"])
    ordered = firsts + rest
    return [c["text"].encode("utf-8")[: cfg.prompt_bytes].decode("utf-8", "ignore") for c in ordered[: cfg.prompts]]


@torch.no_grad()
def timed_generation(model: PreTrainedModel, tok: PreTrainedTokenizerBase, texts: list[str],
                     new_tokens: int) -> list[tuple[int, float]]:
    """(UTF-8 bytes written, seconds) per prompt, greedy, exactly `new_tokens` tokens each."""
    out = []
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    for i, text in enumerate([texts[0], *texts]):  # the first call warms the kernels up and is not counted
        ids = tok(text, return_tensors="pt")
        start = time.perf_counter()
        gen = model.generate(**ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=pad)
        seconds = time.perf_counter() - start
        if i:
            written = tok.decode(gen[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
            out.append((len(written.encode("utf-8")), seconds))
    return out


def measure(folder: Path, langs: list[str], texts: dict[str, list[str]], cfg: SpeedConfig) -> dict:
    """Parameters, vocabulary, and per-language speed rows of the stock model in `folder`."""
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    rows = {lang: timed_generation(model, tok, texts[lang], cfg.new_tokens) for lang in langs}
    return {"parameters": sum(p.numel() for p in model.parameters()), "vocab_size": len(tok), "rows": rows}


def speed_summary(rows: list[tuple[int, float]], draws: int) -> dict:
    rate = ratio_interval([b for b, _ in rows], [s for _, s in rows], None, draws)
    return {"bytes_per_second": round(rate.value, 2), "bytes_per_second_lo": round(rate.lo, 2),
            "bytes_per_second_hi": round(rate.hi, 2), "bytes": sum(b for b, _ in rows),
            "seconds": round(sum(s for _, s in rows), 3)}


def report(base_dir: Path, transfer_dirs: list[Path], samples: Path, cfg: SpeedConfig) -> dict:
    """{'original' | '<tokenizer>/<method>': parameters, vocab_size and per language the speed with its interval
    (and, for transfers, the paired relative difference in seconds per byte against the original)}."""
    texts = {lang: prompts(samples, lang, cfg) for lang in cfg.langs}
    measured = {"original": measure(base_dir, cfg.langs, texts, cfg)}
    for t_dir in transfer_dirs:
        meta = read_meta(t_dir)
        langs = [lang for lang in meta.get("languages") or cfg.langs if lang in cfg.langs]
        with tempfile.TemporaryDirectory(dir=t_dir.parent) as tmp:
            measured[f"{Path(meta['target_tokenizer']).name}/{meta['method']}"] = measure(
                export(t_dir, Path(tmp) / "model", base_dir), langs, texts, cfg)
    out = {}
    original = measured["original"]
    for name, m in measured.items():
        entry = {"parameters": m["parameters"], "vocab_size": m["vocab_size"],
                 "parameters_vs_original": round(m["parameters"] / original["parameters"], 4)}
        for lang, rows in m["rows"].items():
            entry[lang] = speed_summary(rows, cfg.draws)
            if name != "original":  # seconds per byte, paired by prompt: negative is faster
                ref = original["rows"][lang]
                diff = paired_ratio_difference([s for _, s in rows], [b for b, _ in rows], [s for _, s in ref],
                                               [b for b, _ in ref], None, cfg.draws)
                entry[lang]["seconds_per_byte_vs_original"] = diff.comparison()
        out[name] = entry
    return out
