"""How tokenizers cut compounds, and what it costs or buys: stage compound_eval.

- Boundary alignment: the share of held-out compound boundaries (`datei|menü`) where a token starts, each
  word tokenized as in running text (a space before it); per tokenizer, with intervals over words, and paired
  differences against the first tokenizer named.
- Tokens per byte of the language's test sample (intervals over documents).
- Bits per byte of each transfer on the test sample, read from evaluate's per-chunk scores, paired by chunk
  against the same method on the reference tokenizer.
Per word, every tokenizer's pieces go to a Parquet table (`tokshift sql`: view compound_splits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tokenizers import Tokenizer

from tokshift.compounds.pairs import NoCompoundsError, cuts
from tokshift.core.atomic import atomic_file
from tokshift.core.params import check
from tokshift.stats.bootstrap import paired_mean_difference, paired_ratio_difference, ratio_interval
from tokshift.tokenization.training import load_tokenizer


@dataclass
class CompoundEvalConfig:
    tokenizers: dict[str, str] = field(default_factory=lambda: {
        "de-compound-16k": "storage/tokenizers/de-compound-16k", "de-bpe-16k": "storage/tokenizers/de-bpe-16k",
        "original": "storage/models/base"})
    """Name -> tokenizer folder; the first is compared with each of the others."""
    methods: list[str] = field(default_factory=lambda: ["fvt", "hypernet"])
    """Transfer methods whose bits per byte are compared between the first tokenizer and the others."""
    lang: str = "de"
    """Language of the test sample measured (that of compound_data)."""
    draws: int = 2000
    """Bootstrap resamples."""

    def __post_init__(self) -> None:
        check(len(self.tokenizers) >= 2, "tokenizers", "must name at least two tokenizers to compare")
        check(self.draws >= 100, "draws", f"must be >= 100, got {self.draws}")


def token_starts(tok: Tokenizer, text: str) -> list[tuple[int, int]]:
    """Character spans of the tokens of `text` (byte pieces of one character share its span, kept once)."""
    spans = []
    for span in tok.encode(text, add_special_tokens=False).offsets:
        if span[1] > span[0] and (not spans or span != spans[-1]):
            spans.append(span)
    return spans


def split_words(name: str, tok: Tokenizer, rows: list[dict]) -> list[dict]:
    """One row per word: its pieces under `tok`, and how many of its gold boundaries a token starts at."""
    out = []
    for r in rows:
        text = " " + r["form"]
        spans = token_starts(tok, text)
        starts = {s for s, _ in spans}
        gold = [c + 1 for c in cuts(r["segmentation"])]
        out.append({"tokenizer": name, "word": r["word"], "form": r["form"], "compound": r["compound"],
                    "gold": r["segmentation"], "pieces": "|".join(text[s:e].strip() for s, e in spans),
                    "n_tokens": len(spans), "boundaries": len(gold), "aligned": sum(g in starts for g in gold)})
    return out


def measure_compounds(pairs: Path, samples: Path, chunks: Path | None, cfg: CompoundEvalConfig,
                      out_file: Path) -> dict:
    """Alignment, tokens per byte and transfer bpb for cfg.tokenizers; writes the per-word table; returns metrics."""
    rows = [r for r in pq.read_table(pairs).to_pylist() if r["split"] == "test"]
    sample = pq.read_table(samples).filter((pc.field("lang") == cfg.lang) & (pc.field("split") == "test"))
    texts, docs = sample.column("text").to_pylist(), sample.column("doc_id").to_pylist()
    table, metrics, per_boundary, per_doc = [], {"alignment": {}, "tokens_per_byte": {}}, {}, {}
    n_bytes = [len(t.encode("utf-8")) for t in texts]
    for name, folder in cfg.tokenizers.items():
        tok = load_tokenizer(folder)
        words = split_words(name, tok, rows)
        table += words
        comp = [w for w in words if w["compound"]]
        if not comp:
            raise NoCompoundsError(f"{pairs}: no compounds in the test split; raise compound_data.test_fraction or "
                                   f"add text with hyphenated compounds")
        metrics["alignment"][name] = {
            **ratio_interval([w["aligned"] for w in comp], [w["boundaries"] for w in comp], draws=cfg.draws).as_dict(4),
            "tokens_per_compound": round(sum(w["n_tokens"] for w in comp) / len(comp), 3),
            "tokens_per_non_compound": round(sum(w["n_tokens"] for w in words if not w["compound"])
                                             / max(1, len(words) - len(comp)), 3)}
        # one 0/1 item per gold boundary, grouped by word, for paired differences
        per_boundary[name] = [float(i < w["aligned"]) for w in comp for i in range(w["boundaries"])]
        per_doc[name] = [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]
        metrics["tokens_per_byte"][name] = ratio_interval(per_doc[name], n_bytes, docs, cfg.draws).as_dict(4)
    groups = [i for i, w in enumerate(comp) for _ in range(w["boundaries"])]  # the same words for every tokenizer
    first, *others = cfg.tokenizers
    metrics["alignment_vs"] = {f"{first}-vs-{o}": paired_mean_difference(per_boundary[first], per_boundary[o], groups,
                                                                         cfg.draws).comparison(4) for o in others}
    metrics["tokens_per_byte_vs"] = {f"{first}-vs-{o}": paired_ratio_difference(
        per_doc[first], n_bytes, per_doc[o], n_bytes, docs, cfg.draws).comparison(4) for o in others}
    if chunks is not None and chunks.exists():
        metrics["bpb_vs"] = bpb_differences(chunks, first, others, cfg)
    with atomic_file(out_file) as tmp:
        pq.write_table(pa.Table.from_pylist(table), tmp)
    return metrics


def bpb_differences(chunks: Path, first: str, others: list[str], cfg: CompoundEvalConfig) -> dict:
    """Relative bpb difference of `first`'s transfers against each other tokenizer's, same method, paired by chunk."""
    scored = pq.read_table(chunks).filter(pc.field("lang") == cfg.lang).to_pylist()
    by = {}
    for r in scored:
        by.setdefault((r["tokenizer"], r["method"]), {})[(r["doc_id"], r["chunk"])] = (r["bits"], r["bytes"])
    out = {}
    for other in others:
        for method in cfg.methods:
            # the original has no transfers: compare with the original model itself
            a, b = by.get((first, method)), by.get((other, method)) or by.get((other, "original"))
            if not a or not b:
                continue
            keys = sorted(set(a) & set(b))
            out[f"{first}/{method}-vs-{other}"] = paired_ratio_difference(
                [a[k][0] for k in keys], [a[k][1] for k in keys], [b[k][0] for k in keys], [b[k][1] for k in keys],
                [k[0] for k in keys], cfg.draws).comparison(4)
    return out
