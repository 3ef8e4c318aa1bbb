"""Transfers against the original on whole test documents instead of the sample's paragraph chunks.

The evaluate stage scores each ~450-byte chunk of the test sample from its start, so it measures paragraph-length
context. This scores the documents those chunks were drawn from, each document's first --max-bytes cut at a line
break, with the evaluate stage's scorer (its ScoreConfig windows and bf16 setting from --params), and compares every
--transfer NAME=DIR with the original tokenizer paired over documents (95% intervals). Prints one line per (model,
language), writes --out as JSON. Example (docs/results.md#context-length):

    python bench/whole_documents.py --langs de ru --out whole.json \
        --transfer hypernet=storage/transfer/de-bpe-16k/hypernet --transfer fvt=storage/transfer/de-bpe-16k/fvt
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tokshift.core.atomic import write_json
from tokshift.core.device import autocast, resolve_device
from tokshift.core.params import load_section
from tokshift.data.corpus import read_corpus
from tokshift.data.samples import read_samples, size
from tokshift.evaluation.evaluate import EvaluateConfig
from tokshift.hypernet.folder import base_fingerprint
from tokshift.model.base import load_model
from tokshift.model.score import score_texts
from tokshift.stats.bootstrap import paired_relative_difference, ratio_interval
from tokshift.transfers.folder import apply_transfer, read_meta


def head(text: str, max_bytes: int) -> str:
    """The text's first max_bytes UTF-8 bytes, cut after the last line break inside them (whole text if shorter)."""
    if size(text) <= max_bytes:
        return text
    cut = text.encode()[:max_bytes].decode(errors="ignore")
    return cut[:cut.rfind("\n") + 1] or cut


def documents(corpus: Path, samples: Path, lang: str, max_bytes: int) -> dict[str, str]:
    """{doc_id: head of the document} of the test documents the sample drew `lang`'s chunks from."""
    ids = set(read_samples(samples, "test", lang).column("doc_id").to_pylist())
    table = read_corpus(corpus, split="test", lang=lang, columns=["doc_id", "text"]).sort_by("doc_id")
    return {d: head(t, max_bytes) for d, t in zip(table.column("doc_id").to_pylist(), table.column("text").to_pylist(),
                                                   strict=True) if d in ids}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="storage/models/base")
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--samples", default="storage/samples/samples.parquet")
    parser.add_argument("--transfer", action="append", default=[], help="NAME=transfer folder (repeatable)")
    parser.add_argument("--langs", nargs="+", default=["de", "ru"])
    parser.add_argument("--max-bytes", type=int, default=4000, help="bytes per document, cut at a line break")
    parser.add_argument("--out", required=True, help="JSON of every line printed")
    args = parser.parse_args()
    cfg = load_section(args.params, "evaluate", EvaluateConfig)
    device = resolve_device(cfg.device, "evaluate.device")
    model, tokenizer = load_model(args.model, device=device)
    base = base_fingerprint(model)
    docs = {lang: documents(Path(args.corpus), Path(args.samples), lang, args.max_bytes) for lang in args.langs}
    nbytes = {lang: [size(t) for t in d.values()] for lang, d in docs.items()}

    def bits(tok, lang: str, name: str) -> list[float]:
        with autocast(device, cfg.bf16):
            return score_texts(model, tok, list(docs[lang].values()), cfg.score, desc=f"{name}/{lang}").doc_bits

    original = {lang: bits(tokenizer, lang, "original") for lang in args.langs}
    results = []
    for lang in args.langs:
        bpb = ratio_interval(original[lang], nbytes[lang], draws=cfg.draws)
        print(f"original {lang}: {len(docs[lang])} documents, {sum(nbytes[lang])} bytes, bpb {bpb.value:.4f} "
              f"[{bpb.lo:.4f}, {bpb.hi:.4f}]", flush=True)
        results.append({"model": "original", "lang": lang, "docs": len(docs[lang]), "bytes": sum(nbytes[lang]),
                        "bpb": round(bpb.value, 5), "bpb_lo": round(bpb.lo, 5), "bpb_hi": round(bpb.hi, 5)})
    for name, _, t_dir in (t.partition("=") for t in args.transfer):
        tok = apply_transfer(model, Path(t_dir), base)
        for lang in [lang for lang in read_meta(Path(t_dir))["languages"] if lang in args.langs]:
            mine = bits(tok, lang, name)
            bpb = ratio_interval(mine, nbytes[lang], draws=cfg.draws)
            diff = paired_relative_difference(mine, original[lang], draws=cfg.draws)
            print(f"{name} {lang}: bpb {bpb.value:.4f} [{bpb.lo:.4f}, {bpb.hi:.4f}]; vs original "
                  f"{100 * diff.value:+.1f}% [{100 * diff.lo:+.1f}, {100 * diff.hi:+.1f}]", flush=True)
            results.append({"model": name, "lang": lang, "bpb": round(bpb.value, 5), "bpb_lo": round(bpb.lo, 5),
                            "bpb_hi": round(bpb.hi, 5), "vs_original": diff.comparison()})
    write_json(args.out, results)


if __name__ == "__main__":
    main()
