"""Stage `hypernet`: train the ZeTT hypernetwork for the base model (params.yaml: hypernet).

Checkpoints go to --checkpoints (outside DVC's outputs, so a killed run resumes); the trained
hypernetwork to --out, the loss curves and the bpb-vs-step curve to plot CSVs.
"""

import math
import time
from dataclasses import asdict
from pathlib import Path

import torch

from tokshift.core.atomic import atomic_dir, write_csv, write_json
from tokshift.core.params import load_section
from tokshift.data.corpus import read_corpus
from tokshift.hypernet.config import TrainConfig
from tokshift.hypernet.folder import save_hypernet
from tokshift.hypernet.loop import Trainer
from tokshift.model.base import load_model
from tokshift.model.score import capped_texts
from tokshift.plots import hypernet_png
from tokshift.stage import run_stage, stage_parser
from tokshift.tokenization.training import tokenizer_langs


def tail_mean(rows: list[dict], name: str) -> float | None:
    """Mean of a loss over the last tenth of the steps, None where that term was not trained."""
    values = [r[name] for r in rows if not math.isnan(r[name])]
    return round(sum(values) / len(values), 4) if values else None


def main(args) -> None:
    cfg = load_section(args.params, "hypernet", TrainConfig)
    if cfg.deterministic and not torch.cuda.is_available():
        torch.use_deterministic_algorithms(True)  # CPU scatter-adds otherwise sum in thread order
    start = time.time()
    docs = {lang: read_corpus(args.corpus, split="train", lang=lang).column("text").to_pylist() for lang in cfg.langs}
    for lang, texts in docs.items():
        if not texts:
            raise ValueError(f"{args.corpus}: no train documents for '{lang}'; fix params.yaml: hypernet.langs")
    eval_texts = {}
    for tok_dir in cfg.eval_tokenizers:
        eval_texts[tok_dir] = {lang: capped_texts(read_corpus(args.corpus, split="valid", lang=lang)
                                                  .sort_by("doc_id").column("text").to_pylist(), cfg.eval_max_bytes)
                               for lang in tokenizer_langs(tok_dir)}
    model, base_hf = load_model(args.model)
    trainer = Trainer(cfg, model, base_hf, docs, eval_texts)
    result = trainer.train(Path(args.checkpoints))
    if not trainer.acc.is_main_process:
        return
    rows = trainer.rows
    tail = rows[-max(1, len(rows) // 10):]
    with atomic_dir(args.out) as tmp:
        save_hypernet(trainer.final, tmp, trainer.fingerprint, {"steps": trainer.step, "train": asdict(cfg)})
    write_csv(args.curve, rows)
    if trainer.bpb_rows:
        write_csv(args.bpb_curve, trainer.bpb_rows)
        hypernet_png(Path(args.bpb_curve), Path(args.png))
    write_json(args.metrics, {
        "steps": trainer.step, "processes": trainer.acc.num_processes,
        "wall_seconds": round(time.time() - start + trainer.earlier_seconds, 1),  # earlier (resumed) runs included
        "train_seconds": trainer.train_seconds,
        "train_tokens": sum(r["tokens"] for r in rows) * trainer.acc.num_processes,
        "objective": cfg.objective,
        **{f"final_{name}": tail_mean(tail, name) for name in ("lm_loss", "hidden_loss", "segment_loss",
                                                                 "lexical_loss")},
        "truncated_pieces": sum(r["truncated"] for r in rows),
        "parameters": trainer.core.describe()["parameters"],
        "valid_bpb": {"fvt": result["fvt_bpb"], "hypernet": {k.split("/")[0]: v for k, v in
                                                            result["final_bpb"].items() if k.endswith("/hypernet")}},
    })


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--corpus", required=True, help="corpus Parquet file")
    parser.add_argument("--out", required=True, help="hypernetwork folder to write")
    parser.add_argument("--checkpoints", required=True, help="checkpoint folder (kept between runs)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    parser.add_argument("--curve", required=True, help="training-curve CSV to write (one row per step)")
    parser.add_argument("--bpb-curve", required=True, help="bpb-vs-step CSV to write")
    parser.add_argument("--png", required=True, help="bpb-vs-step PNG to write")
    run_stage(main, parser)
