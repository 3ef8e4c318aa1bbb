"""A trained hypernetwork on disk: save, load, and the fingerprint of the base model it belongs to.

A hypernetwork folder holds `hypernet.safetensors` (weights) and `hypernet.json` (config and the
fingerprint of the base model it was trained for); loading it for another base model is an error.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from safetensors.torch import save_file
from transformers import PreTrainedModel

from tokshift.core.errors import MissingFileError, TokshiftError
from tokshift.core.params import from_dict
from tokshift.core.tensors import load_tensors
from tokshift.hypernet.model import HypernetConfig, Hypernetwork
from tokshift.model.embeddings import embedding_matrices


class CheckpointMismatchError(TokshiftError, ValueError):
    """A hypernetwork or checkpoint made for another base model or configuration."""


def base_fingerprint(model: PreTrainedModel) -> dict:
    """What a hypernetwork depends on: the base architecture, vocabulary and embedding values."""
    digest = hashlib.sha256()
    for name, mat in sorted(embedding_matrices(model).items()):
        digest.update(name.encode())
        digest.update(mat.detach().float().cpu().contiguous().numpy().tobytes())
    emb = model.get_input_embeddings().weight
    return {"model_type": model.config.model_type, "vocab_size": int(emb.shape[0]), "width": int(emb.shape[1]),
            "embeddings_sha256": digest.hexdigest()}


def check_fingerprint(saved: dict, current: dict, where: str) -> None:
    diffs = [f"{k}: {saved.get(k)} vs {v}" for k, v in current.items() if saved.get(k) != v]
    if diffs:
        raise CheckpointMismatchError(f"{where} was made for another base model ({'; '.join(diffs)} "
                                      "(saved vs this model)); retrain it for this model or use the matching base")


def save_hypernet(hyper: Hypernetwork, folder: Path, fingerprint: dict, extra: dict | None = None) -> None:
    """Weights + hypernet.json into an existing folder (callers make it atomic)."""
    state = {k: v.detach().cpu().contiguous() for k, v in hyper.state_dict().items()}
    save_file(state, str(folder / "hypernet.safetensors"))
    meta = {**hyper.describe(), "base": fingerprint, **(extra or {})}
    (folder / "hypernet.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_hypernet(folder: str | Path, model: PreTrainedModel) -> Hypernetwork:
    """The hypernetwork in `folder` for `model` (its frozen base); refuses one trained for another base."""
    folder = Path(folder)
    meta_file, weights = folder / "hypernet.json", folder / "hypernet.safetensors"
    if not meta_file.is_file() or not weights.is_file():
        raise MissingFileError(f"{folder}: not a hypernetwork folder (needs hypernet.json and hypernet.safetensors); "
                                "run `dvc repro hypernet` first")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    check_fingerprint(meta.get("base", {}), base_fingerprint(model), str(folder))
    hyper = Hypernetwork(from_dict(HypernetConfig, meta["config"], f"{meta_file}: config"), embedding_matrices(model))
    load_weights(hyper, weights, f"the config in {meta_file}")
    return hyper.to(model.device).eval()  # beside the model it embeds for (its device setting)


def load_weights(hyper: Hypernetwork, weights: Path, what: str, device: str = "cpu") -> None:
    """hypernet.safetensors into `hyper`; a CheckpointMismatchError (not a size traceback) if it does not fit."""
    try:
        state = load_tensors(weights, "retrain it (`dvc repro hypernet`) or use another folder", device)
        missing, unexpected = hyper.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise CheckpointMismatchError(f"{weights}: weights do not fit {what}: {str(err).splitlines()[1:2]}") from None
    if missing or unexpected:
        raise CheckpointMismatchError(f"{weights}: weights do not fit {what} "
                                      f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
