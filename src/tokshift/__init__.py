"""tokshift: move a language model onto any tokenizer.

The public API, one import away (each name loads its module on first use, so `import tokshift` is cheap):

    from tokshift import transfer, export
    transfer("storage/models/base", "storage/tokenizers/de-bpe-16k", "fvt", "out/de-fvt")
    export("out/de-fvt", "out/de-fvt-model")  # a stock Hugging Face model folder

- transfer / export / apply_transfer: new embeddings for a target tokenizer (fvt, focus, mean, random,
  hypernet), written as a transfer folder, exported as a model, or swapped into a loaded model.
- train_hypernet / load_hypernet / TrainConfig: the Zero-Shot Tokenizer Transfer hypernetwork.
- dynamic_tokenize / DynamicEmbedder / run_dynamic / MergeConfig: dynamic tokenization of a batch.
- evaluate_all / score_texts / ScoreConfig: bits per byte of the original model and of transfers.
- load_model: a base model from a folder, a GGUF file, or the embedded default.
- TokshiftError: the base class of every error a user can fix.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "transfer": "tokshift.transfers.methods",
    "export": "tokshift.transfers.export",
    "apply_transfer": "tokshift.transfers.folder",
    "train_hypernet": "tokshift.hypernet.train",
    "load_hypernet": "tokshift.hypernet.folder",
    "TrainConfig": "tokshift.hypernet.config",
    "dynamic_tokenize": "tokshift.dynamic.merge",
    "MergeConfig": "tokshift.dynamic.merge",
    "DynamicEmbedder": "tokshift.dynamic.embed",
    "run_dynamic": "tokshift.dynamic.embed",
    "evaluate_all": "tokshift.evaluation.evaluate",
    "score_texts": "tokshift.model.score",
    "ScoreConfig": "tokshift.model.score",
    "load_model": "tokshift.model.base",
    "TokshiftError": "tokshift.core.errors",
}
__all__ = [
    "DynamicEmbedder",
    "MergeConfig",
    "ScoreConfig",
    "TokshiftError",
    "TrainConfig",
    "apply_transfer",
    "dynamic_tokenize",
    "evaluate_all",
    "export",
    "load_hypernet",
    "load_model",
    "run_dynamic",
    "score_texts",
    "train_hypernet",
    "transfer",
]

if TYPE_CHECKING:
    from tokshift.core.errors import TokshiftError
    from tokshift.dynamic.embed import DynamicEmbedder, run_dynamic
    from tokshift.dynamic.merge import MergeConfig, dynamic_tokenize
    from tokshift.evaluation.evaluate import evaluate_all
    from tokshift.hypernet.config import TrainConfig
    from tokshift.hypernet.folder import load_hypernet
    from tokshift.hypernet.train import train_hypernet
    from tokshift.model.base import load_model
    from tokshift.model.score import ScoreConfig, score_texts
    from tokshift.transfers.export import export
    from tokshift.transfers.folder import apply_transfer
    from tokshift.transfers.methods import transfer


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tokshift' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return __all__
