"""New transfers on the test sample, paired with what the evaluate stage already scored (no model scored twice).

Each --hypernet NAME=DIR (a trained hypernetwork folder) is transferred to every --tokenizers folder; each
--transfer NAME=DIR (a transfer folder) is taken as it is. Every one is scored exactly as the evaluate stage scores
(the test sample's chunks, its ScoreConfig and bf16 setting from --params) and compared, paired over the same chunks
with 95% intervals over documents, with the models of the stage's chunks.parquet named by --against (`{tok}` is the
transfer's tokenizer; a model scored earlier in the same run is named `<tokenizer>/<NAME>`). Prints one line per
(model, language), writes --out as JSON. Example (docs/hypernet.md):

    python bench/paired_test.py --hypernet untied=/tmp/keep/untied --out untied.json \
        --tokenizers storage/tokenizers/de-bpe-16k storage/tokenizers/ru-bpe-16k
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from tokshift.core.atomic import write_json
from tokshift.core.device import autocast, resolve_device
from tokshift.core.params import load_section
from tokshift.data.samples import sample_chunks, size
from tokshift.evaluation.compare import describe, paired
from tokshift.evaluation.evaluate import EvaluateConfig
from tokshift.hypernet.folder import base_fingerprint
from tokshift.model.base import load_model
from tokshift.model.score import score_texts
from tokshift.stats.bootstrap import ratio_interval
from tokshift.transfers.folder import apply_transfer, read_meta
from tokshift.transfers.methods import transfer


def score(model, base, t_dir: Path, samples: Path, cfg: EvaluateConfig, device) -> tuple[str, list[dict]]:
    meta = read_meta(t_dir)
    tok = apply_transfer(model, t_dir, base)
    rows = []
    for lang in [lang for lang in meta["languages"] if lang in cfg.langs]:
        chunks = sample_chunks(samples, "test", lang, "evaluate.langs", cfg.max_bytes_per_lang)
        with autocast(device, cfg.bf16):
            out = score_texts(model, tok, [c["text"] for c in chunks], cfg.score, desc=f"{t_dir.name}/{lang}")
        rows += [{"lang": lang, "doc_id": c["doc_id"], "chunk": c["chunk"], "bits": bits, "bytes": size(c["text"])}
                 for c, bits in zip(chunks, out.doc_bits, strict=True)]
    return Path(meta["target_tokenizer"]).name, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="storage/models/base")
    parser.add_argument("--samples", default="storage/samples/samples.parquet")
    parser.add_argument("--chunks", default="storage/evaluate/chunks.parquet", help="the evaluate stage's rows")
    parser.add_argument("--hypernet", action="append", default=[], help="NAME=hypernetwork folder (repeatable)")
    parser.add_argument("--transfer", action="append", default=[], help="NAME=transfer folder (repeatable)")
    parser.add_argument("--tokenizers", nargs="+", default=[f"storage/tokenizers/{t}" for t in
                        ("de-bpe-16k", "ru-bpe-16k", "ja-unigram-16k", "code-bpe-16k")])
    parser.add_argument("--against", nargs="+", default=["original/original", "{tok}/fvt", "{tok}/hypernet"])
    parser.add_argument("--out", required=True, help="JSON of every line printed")
    args = parser.parse_args()
    cfg = load_section(args.params, "evaluate", EvaluateConfig)
    device = resolve_device(cfg.device, "evaluate.device")
    stage = pq.read_table(args.chunks).to_pylist()
    model, _ = load_model(args.model, device=device)
    base = base_fingerprint(model)
    results = []
    with tempfile.TemporaryDirectory(prefix="paired-test-") as tmp:
        dirs = [(n, Path(d)) for n, _, d in (t.partition("=") for t in args.transfer)]
        for name, _, hyper_dir in (h.partition("=") for h in args.hypernet):
            for tok_dir in args.tokenizers:
                out = Path(tmp) / name / Path(tok_dir).name
                transfer(args.model, tok_dir, "hypernet", out, hypernet_dir=hyper_dir, device=cfg.device)
                dirs.append((name, out))
        for name, t_dir in dirs:
            tok, rows = score(model, base, t_dir, Path(args.samples), cfg, device)
            stage += [{**r, "model": f"{tok}/{name}"} for r in rows]  # later models can be compared with this one
            for lang in dict.fromkeys(r["lang"] for r in rows):
                mine = [r for r in rows if r["lang"] == lang]
                bpb = ratio_interval([r["bits"] for r in mine], [r["bytes"] for r in mine],
                                     [r["doc_id"] for r in mine], cfg.draws, 0)
                line = {"model": f"{tok}/{name}", "lang": lang, "bpb": round(bpb.value, 5),
                        "bpb_lo": round(bpb.lo, 5), "bpb_hi": round(bpb.hi, 5)}
                words = []
                for ref in (a.format(tok=tok) for a in args.against):
                    ref_rows = [r for r in stage if r["model"] == ref and r["lang"] == lang]
                    if ref_rows and (diff := paired(mine, ref_rows, cfg.draws, 0)) is not None:
                        line[f"vs {ref}"] = diff.comparison()
                        words.append(describe(diff.comparison(), ref))
                print(f"{tok}/{name} {lang}: bpb {bpb.value:.4f} [{bpb.lo:.4f}, {bpb.hi:.4f}]; " + "; ".join(words),
                      flush=True)
                results.append(line)
    write_json(args.out, results)


if __name__ == "__main__":
    main()
