"""Stage `dynamic_eval`: continuation bpb after original vs dynamic prefixes (params.yaml: dynamic_eval)."""

from pathlib import Path

import torch

from tokshift.core.atomic import write_csv, write_json
from tokshift.core.device import autocast, resolve_device
from tokshift.core.params import load_section
from tokshift.data.samples import sample_texts
from tokshift.dynamic.embed import DynamicEmbedder
from tokshift.dynamic.evaluate import DynamicEvalConfig, evaluate_dynamic
from tokshift.hypernet.folder import load_hypernet
from tokshift.model.base import load_model
from tokshift.model.score import bos_id
from tokshift.plots import dynamic_png
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "dynamic_eval", DynamicEvalConfig)
    texts = {lang: sample_texts(args.samples, "test", lang, "dynamic_eval.langs") for lang in cfg.langs}
    device = resolve_device(cfg.device, "dynamic_eval.device")
    model, tok = load_model(args.model, device=device)
    hyper = load_hypernet(args.hypernet, model)
    embedder = DynamicEmbedder(model, hyper, tok.backend_tokenizer, cfg.cache_size)
    with torch.no_grad(), autocast(device, cfg.bf16):
        rows = evaluate_dynamic(model, embedder, tok.backend_tokenizer, bos_id(tok), texts, cfg)
    keys = ("reduction", "continuation_bpb", "bpb_change", "bpb_change_lo", "bpb_change_hi", "verdict")
    metrics = {lang: {str(r["budget"]): {k: r[k] for k in keys}
                      for r in rows if r["lang"] == lang} for lang in cfg.langs}
    metrics["cache_hit_rate"] = round(embedder.stats.hit_rate, 4)
    write_json(args.metrics, metrics)
    write_csv(args.plot, [{**row, "series": row["lang"]} for row in rows])  # the plot colours by series
    dynamic_png(Path(args.plot), Path(args.png))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--hypernet", required=True, help="trained hypernetwork folder")
    parser.add_argument("--samples", required=True, help="evaluation sample Parquet (its test chunks are the texts)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    parser.add_argument("--plot", required=True, help="plot CSV to write (one row per language x budget)")
    parser.add_argument("--png", required=True, help="trade-off curve PNG to write")
    run_stage(main, parser)
