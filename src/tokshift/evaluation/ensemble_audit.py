"""The ensemble audit: from byte-level scores of the original and of each second model, what an ensemble gains.

For every second model (the transfer and its controls) and combination (mixture, product): the original's
weight with the lowest valid bpb, then on test the ensemble's bpb with its interval and its paired relative
difference to the better of the two models alone (negative: the ensemble is better; 'tie' when the interval
contains 0); the same at weight 0.5; and a curve over the weights for the plot. For every model alone: per-byte
bpb against token-level bpb on the same chunks. Intervals resample documents (stats/bootstrap.py).
"""

from __future__ import annotations

from tokshift.bytelevel.ensemble import COMBINATIONS
from tokshift.data.samples import size
from tokshift.evaluation.ensemble import Scored, combined_bits
from tokshift.stats.bootstrap import Interval, paired_relative_difference, ratio_interval


def bpb_of(bits: list[float], chunks: list[dict], draws: int) -> Interval:
    return ratio_interval(bits, [size(c["text"]) for c in chunks], [c["doc_id"] for c in chunks], draws)


def alone(model: Scored, chunks: list[dict], draws: int) -> dict:
    """A model's per-byte bpb with its interval, its token-level bpb, and the paired gap between the two."""
    docs = [c["doc_id"] for c in chunks]
    bpb = bpb_of(model.byte_bits, chunks, draws)
    token = sum(model.token_bits) / sum(size(c["text"]) for c in chunks)
    return {"bpb": round(bpb.value, 5), "lo": round(bpb.lo, 5), "hi": round(bpb.hi, 5), "token_bpb": round(token, 5),
            "byte_vs_token": paired_relative_difference(model.byte_bits, model.token_bits, docs, draws).comparison()}


def audit_pair(original: dict[str, Scored], second: dict[str, Scored], chunks: dict[str, list[dict]],
               weights: list[float], draws: int) -> tuple[dict, list[dict]]:
    """({combination: {weight, bpb, lo, hi, vs_better, at_half}}, curve rows) for the original with one model."""
    test, valid = chunks["test"], chunks["valid"]
    docs = [c["doc_id"] for c in test]
    better = min((original["test"], second["test"]), key=lambda s: sum(s.byte_bits))
    out, curve = {}, []
    for how in COMBINATIONS:
        valid_bits = {w: sum(combined_bits(original["valid"], second["valid"], valid, w, how)) for w in weights}
        picked = min(weights, key=lambda w: (valid_bits[w], abs(w - 0.5)))
        entry: dict = {}
        for w in sorted({0.0, 1.0, *weights}):
            bits = (original["test"].byte_bits if w == 1.0 else second["test"].byte_bits if w == 0.0
                    else combined_bits(original["test"], second["test"], test, w, how))
            bpb = bpb_of(bits, test, draws)
            curve.append({"combination": how, "weight": w, "bpb": round(bpb.value, 5), "bpb_lo": round(bpb.lo, 5),
                          "bpb_hi": round(bpb.hi, 5)})
            if w in (picked, 0.5):
                result = {"bpb": round(bpb.value, 5), "lo": round(bpb.lo, 5), "hi": round(bpb.hi, 5),
                          "vs_better": paired_relative_difference(bits, better.byte_bits, docs, draws).comparison()}
                if w == picked:
                    entry.update({"weight": w, **result})
                if w == 0.5:
                    entry["at_half"] = result
        out[how] = entry
    return out, curve


def audit(scored: dict[str, dict], weights: list[float], draws: int = 2000) -> tuple[dict, list[dict]]:
    """(metrics {transfer: {lang: {bytes, docs, alone, ensembles}}}, plot rows) from ensemble_all's scores."""
    metrics: dict = {}
    rows: list[dict] = []
    for transfer, by_lang in scored.items():
        for lang, entry in by_lang.items():
            chunks, test = entry["chunks"], entry["chunks"]["test"]
            models = {"original": entry["original"], **entry["seconds"]}
            result = {"bytes": sum(size(c["text"]) for c in test), "docs": len({c["doc_id"] for c in test}),
                      "valid_bytes": sum(size(c["text"]) for c in chunks["valid"]),
                      "alone": {name: alone(m["test"], test, draws) for name, m in models.items()}, "ensembles": {}}
            for name, second in entry["seconds"].items():
                result["ensembles"][name], curve = audit_pair(entry["original"], second, chunks, weights, draws)
                rows += [{"transfer": transfer, "lang": lang, "second": name,
                          "series": f"{lang} original + {name} ({row['combination']})", **row} for row in curve]
            metrics.setdefault(transfer, {})[lang] = result
    return metrics, rows
