"""Summaries with intervals: each model's bits per byte and the comparisons people read, from per-chunk scores.

Every interval resamples documents (stats/bootstrap.py). Comparisons are paired on the chunks both
models scored, as the relative bpb difference (bits_a / bits_b - 1, the bytes being the same): each
transfer vs the original tokenizer (`vs_original`), each method vs FVT on the same tokenizer
(`vs_fvt`), an adapted model vs the transfer it started from (`vs_zero_shot`). A difference whose
interval contains 0 is a tie (`verdict`). Leaves out: corrections for many comparisons.
"""

from __future__ import annotations

from collections import defaultdict

from tokshift.stats.bootstrap import Interval, paired_relative_difference, ratio_interval, spread

ADAPTED = "+adapt"


def references(model: str, method: str, tokenizer: str) -> dict[str, str]:
    """What `model` is compared with: {comparison name: reference model}."""
    if method == "original":
        return {}
    refs = {"vs_original": "original/original"}
    if method.endswith(ADAPTED):
        refs["vs_zero_shot"] = f"{tokenizer}/{method[:-len(ADAPTED)]}"
    elif method != "fvt":
        refs["vs_fvt"] = f"{tokenizer}/fvt"
    return refs


def paired(rows: list[dict], ref_rows: list[dict], draws: int, seed: int) -> Interval | None:
    """Relative bpb difference of rows vs ref_rows on the chunks both have (None if they share none)."""
    ref = {(r["doc_id"], r["chunk"]): r["bits"] for r in ref_rows}
    both = [(r["doc_id"], r["bits"], ref[(r["doc_id"], r["chunk"])]) for r in rows if (r["doc_id"], r["chunk"]) in ref]
    if not both:
        return None
    docs, bits, ref_bits = zip(*both, strict=True)
    return paired_relative_difference(bits, ref_bits, docs, draws, seed)


def summarise(chunks: list[dict], draws: int = 2000, seed: int = 0) -> list[dict]:
    """One row per (model, lang), in the order of `chunks`: bpb and its interval, tokens, chunks, documents, and each
    comparison as {value, lo, hi, verdict}."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in chunks:
        groups[(row["model"], row["lang"])].append(row)
    out = []
    for (model, lang), rows in groups.items():
        first = rows[0]
        n_bytes, n_tokens = sum(r["bytes"] for r in rows), sum(r["tokens"] for r in rows)
        bpb = ratio_interval([r["bits"] for r in rows], [r["bytes"] for r in rows], [r["doc_id"] for r in rows],
                             draws, seed)
        summary = {"model": model, "tokenizer": first["tokenizer"], "method": first["method"], "lang": lang,
                   "bpb": round(bpb.value, 5), "bpb_lo": round(bpb.lo, 5), "bpb_hi": round(bpb.hi, 5),
                   "tokens": n_tokens, "bytes": n_bytes, "tokens_per_byte": round(n_tokens / max(n_bytes, 1), 5),
                   "chunks": len(rows), "docs": len({r["doc_id"] for r in rows})}
        for name, ref in references(model, first["method"], first["tokenizer"]).items():
            if (ref, lang) in groups and (diff := paired(rows, groups[(ref, lang)], draws, seed)) is not None:
                summary[name] = diff.comparison()
        out.append(summary)
    return out


def flat(summary: dict) -> dict:
    """A summary row with its comparisons spread into columns (vs_fvt, vs_fvt_lo, ...), every one present, for CSV."""
    return spread(summary, ("vs_original", "vs_fvt", "vs_zero_shot"))


def describe(diff: dict, what: str) -> str:
    """A comparison in words, e.g. '-9.4% [-11.0%, -7.9%] vs FVT' or 'tie with FVT (+0.8% [-1.2%, +2.9%])'."""
    text = f"{diff['value']:+.1%} [{diff['lo']:+.1%}, {diff['hi']:+.1%}]"
    return f"tie with {what} ({text})" if diff["verdict"] == "tie" else f"{text} vs {what}"
