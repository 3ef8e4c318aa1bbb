"""Bits per byte of models on a user's text files, with intervals: what `tokshift evaluate` prints.

Each file is cut into paragraph-aligned chunks (data/samples.py's cutter) and every chunk is
scored as its own text, so each model gets a 95% interval over the chunks (resampled) and every
model after the first a paired interval of its relative difference to the first model on the same
chunks ('tie' when it contains 0). With --byte-level the exact byte-level score of each chunk is
computed too. Leaves out: grouping chunks by anything finer than the file.
"""

from __future__ import annotations

from tokshift.core.device import autocast, resolve_device
from tokshift.data.samples import paragraph_chunks, size
from tokshift.model.base import load_model
from tokshift.model.score import ScoreConfig, bos_id, score_texts
from tokshift.stats.bootstrap import paired_relative_difference, ratio_interval


def file_chunks(text: str, chunk_bytes: int) -> list[str]:
    """The text in paragraph-aligned chunks of at most about chunk_bytes (a short text is one chunk)."""
    return paragraph_chunks(text, chunk_bytes, 1) or [text]


def score_files(model_dirs: list[str], texts: dict[str, str], chunk_bytes: int = 1000, byte_level: bool = False,
                window: int = 512, stride: int = 384, device_name: str = "auto") -> list[dict]:
    """Rows {model, text, bpb, bpb_lo, bpb_hi, bytes, chunks, tokens | token_bpb, vs_first...}, one per model and
    file, with the per-chunk bits kept under `chunk_bits` for the comparisons."""
    device = resolve_device(device_name, "--device")
    chunks = {path: file_chunks(text, chunk_bytes) for path, text in texts.items()}
    rows = []
    for model_dir in model_dirs:
        model, tokenizer = load_model(model_dir, device=device)
        bpe = None
        if byte_level:
            from tokshift.bytelevel.bpe import ByteBPE

            bpe = ByteBPE(tokenizer.backend_tokenizer, model_dir)
        for path, parts in chunks.items():
            n_bytes = [size(p) for p in parts]
            with autocast(device):
                if bpe is not None:
                    from tokshift.bytelevel.score import ByteScoreConfig, score_bytes

                    cfg = ByteScoreConfig(window=window, stride=stride)
                    scores = [score_bytes(model, bpe, bos_id(tokenizer), [p], cfg) for p in parts]
                    bits = [s.nll_bits for s in scores]
                    extra = {"token_bpb": round(sum(s.token_nll_bits for s in scores) / sum(n_bytes), 5)}
                else:
                    score = score_texts(model, tokenizer, parts, ScoreConfig(window=window, stride=stride))
                    bits, extra = score.doc_bits, {"tokens": score.n_tokens}
            bpb = ratio_interval(bits, n_bytes)
            rows.append({"model": model_dir, "text": path, "bpb": round(bpb.value, 5), "bpb_lo": round(bpb.lo, 5),
                         "bpb_hi": round(bpb.hi, 5), **extra, "bytes": sum(n_bytes), "chunks": len(parts),
                         "chunk_bits": bits})
        del model
    for row in rows:
        first = next(r for r in rows if r["text"] == row["text"])
        if first is not row:
            diff = paired_relative_difference(row["chunk_bits"], first["chunk_bits"])
            row["vs_first"] = diff.comparison()
    return rows


def table(rows: list[dict], byte_level: bool) -> str:
    """The rows as a text table: bpb [95% interval], then each later model's difference to the first model."""
    width = max(len(r["model"]) for r in rows)
    second = "token_bpb" if byte_level else "tokens"
    lines = [f"{'model':<{width}}  {'text':<30} {'bpb':>8} {'95% interval':>17} {second:>9} {'bytes':>8} "
             f"{'chunks':>6}  vs first model"]
    for r in rows:
        value = f"{r[second]:>9.4f}" if byte_level else f"{r[second]:>9}"
        diff = r.get("vs_first")
        vs = (f"{diff['value']:+.1%} [{diff['lo']:+.1%}, {diff['hi']:+.1%}] {diff['verdict']}" if diff else "")
        lines.append(f"{r['model']:<{width}}  {r['text'][-30:]:<30} {r['bpb']:>8.4f} "
                     f"[{r['bpb_lo']:.4f}, {r['bpb_hi']:.4f}] {value} {r['bytes']:>8} {r['chunks']:>6}  {vs}")
    return "\n".join(lines)
