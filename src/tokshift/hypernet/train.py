"""Train a hypernetwork for a base model on a corpus and save it: what the `hypernet` stage and the API call.

Reads the train split of `cfg.langs` (training text) and the valid split of each eval tokenizer's
languages (the bpb curve), runs the Trainer (loop.py; resumes from `checkpoint_dir`), and writes the
hypernetwork folder atomically (folder.py) from the main process. Leaves out: curves on disk (the
stage writes them from the returned trainer).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from pathlib import Path

import torch

from tokshift.core.atomic import atomic_dir
from tokshift.core.errors import InputError, MissingFileError
from tokshift.data.corpus import read_corpus
from tokshift.data.samples import valid_texts
from tokshift.hypernet.config import TrainConfig
from tokshift.hypernet.folder import save_hypernet
from tokshift.hypernet.loop import Trainer
from tokshift.model.base import load_model
from tokshift.model.pooling import POOLING_CONFIG, read_pooling
from tokshift.tokenization.training import tokenizer_langs

LOSSES = ("lm_loss", "hidden_loss", "segment_loss", "pooled_loss", "lexical_loss")


def training_texts(corpus: str | Path, cfg: TrainConfig, samples: str | Path | None = None
                   ) -> tuple[dict[str, list[str]], dict[str, dict[str, list]]]:
    """(train documents per language, valid texts per eval tokenizer and language): train from the corpus, valid
    from the evaluation sample where one is given (data/samples.py)."""
    docs = {lang: read_corpus(corpus, split="train", lang=lang).column("text").to_pylist() for lang in cfg.langs}
    for lang, texts in docs.items():
        if not texts:
            raise InputError(f"{corpus}: no train documents for '{lang}'; fix params.yaml: hypernet.langs")
    eval_texts = {}
    for i, tok_dir in enumerate(cfg.eval_tokenizers):
        if not (Path(tok_dir) / "tokenizer.json").is_file():
            raise MissingFileError(f"params.yaml: hypernet.eval_tokenizers[{i}]: {tok_dir} is not a tokenizer folder; "
                                   "run `dvc repro tokenizers` first or list other folders")
        eval_texts[tok_dir] = {lang: valid_texts(corpus, samples, lang, cfg.eval_max_bytes, "hypernet.eval_tokenizers")
                               for lang in tokenizer_langs(tok_dir)}
    return docs, eval_texts


def tail_mean(rows: list[dict], name: str) -> float | None:
    """Mean of a loss over the last tenth of the steps, None where that term was not trained."""
    values = [r[name] for r in rows[-max(1, len(rows) // 10):] if not math.isnan(r[name])]
    return round(sum(values) / len(values), 4) if values else None


def train_hypernet(model_dir: str | Path, corpus: str | Path, out_dir: str | Path, checkpoint_dir: str | Path,
                   cfg: TrainConfig | None = None, samples: str | Path | None = None) -> tuple[Trainer, dict]:
    """Train (or resume), save the hypernetwork to `out_dir`; (trainer, metrics), metrics {} off the main process."""
    cfg = cfg or TrainConfig()
    if cfg.deterministic and not torch.cuda.is_available():
        torch.use_deterministic_algorithms(True)  # CPU scatter-adds otherwise sum in thread order
    start = time.time()
    docs, eval_texts = training_texts(corpus, cfg, samples)
    model, base_hf = load_model(str(model_dir))
    prefix = read_pooling(model_dir)[1] if (Path(model_dir) / POOLING_CONFIG).exists() else ""
    trainer = Trainer(cfg, model, base_hf, docs, eval_texts, prefix)
    result = trainer.train(Path(checkpoint_dir))
    if not trainer.acc.is_main_process:
        return trainer, {}
    with atomic_dir(out_dir) as tmp:
        save_hypernet(trainer.final, tmp, trainer.fingerprint, {"steps": trainer.step, "train": asdict(cfg)})
    rows = trainer.rows
    return trainer, {
        "steps": trainer.step, "processes": trainer.acc.num_processes,
        "wall_seconds": round(time.time() - start + trainer.earlier_seconds, 1),  # earlier (resumed) runs included
        "train_seconds": trainer.train_seconds,
        "train_tokens": sum(r["tokens"] for r in rows) * trainer.acc.num_processes,
        "objective": cfg.objective,
        **{f"final_{name}": tail_mean(rows, name) for name in LOSSES},
        "truncated_pieces": sum(r["truncated"] for r in rows),
        "parameters": trainer.core.describe()["parameters"],
        **({"compose_heldout_loss": trainer.heldout} if cfg.compose_steps else {}),
        f"valid_{trainer.metric}": {"fvt": result["fvt_bpb"], "hypernet": {
            k.split("/")[0]: v for k, v in result["final_bpb"].items() if k.endswith("/hypernet")}},
    }
