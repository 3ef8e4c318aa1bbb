"""A trained hypernetwork on disk, and its embeddings for a target tokenizer (the `hypernet` transfer method).

A hypernetwork folder holds `hypernet.safetensors` (weights) and `hypernet.json` (config and the
fingerprint of the base model it was trained for); loading it for another base model is an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tokshift.hypernet.model import HypernetConfig, Hypernetwork
from tokshift.hypernet.pieces import decompose_tokens
from tokshift.params import from_dict

log = logging.getLogger(__name__)


class CheckpointMismatchError(ValueError):
    """A hypernetwork or checkpoint made for another base model or configuration."""


def base_fingerprint(model: PreTrainedModel) -> dict:
    """What a hypernetwork depends on: the base architecture, vocabulary and embedding values."""
    from tokshift.transfer import embedding_matrices

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
    from tokshift.transfer import embedding_matrices

    folder = Path(folder)
    meta_file, weights = folder / "hypernet.json", folder / "hypernet.safetensors"
    if not meta_file.is_file() or not weights.is_file():
        raise FileNotFoundError(f"{folder}: not a hypernetwork folder (needs hypernet.json and hypernet.safetensors); "
                                "run `dvc repro hypernet` first")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    check_fingerprint(meta.get("base", {}), base_fingerprint(model), str(folder))
    hyper = Hypernetwork(from_dict(HypernetConfig, meta["config"], f"{meta_file}: config"), embedding_matrices(model))
    load_weights(hyper, weights, f"the config in {meta_file}")
    return hyper.eval()


def load_weights(hyper: Hypernetwork, weights: Path, what: str, device: str = "cpu") -> None:
    """hypernet.safetensors into `hyper`; a CheckpointMismatchError (not a size traceback) if it does not fit."""
    try:
        missing, unexpected = hyper.load_state_dict(load_file(str(weights), device=device), strict=False)
    except RuntimeError as err:
        raise CheckpointMismatchError(f"{weights}: weights do not fit {what}: {str(err).splitlines()[1:2]}") from None
    if missing or unexpected:
        raise CheckpointMismatchError(f"{weights}: weights do not fit {what} "
                                      f"(missing {missing[:3]}, unexpected {unexpected[:3]})")


def hypernet_matrices(hyper: Hypernetwork, target: Tokenizer, specials: dict[int, int], base: Tokenizer,
                      batch_tokens: int = 65536, lang: str | None = None,
                      unknown: str = "mean") -> tuple[dict[str, torch.Tensor], dict]:
    """Predicted matrices for every id of `target`; specials (target id -> base id) copy the base rows."""
    vocab = target.get_vocab(with_added_tokens=True)
    n = target.get_vocab_size(with_added_tokens=True)
    order = [t for t, i in sorted(vocab.items(), key=lambda kv: kv[1]) if i not in specials]
    ids = torch.tensor([vocab[t] for t in order], dtype=torch.long)
    pieces = decompose_tokens(order, target, base, hyper.cfg.max_pieces, unknown=unknown)
    pred = hyper.embed(pieces, batch_tokens=batch_tokens, lang=lang, progress=True)
    mats = {}
    for name in hyper.names:
        base_mat = getattr(hyper, f"base_{name}").cpu()
        mat = torch.empty((n, *base_mat.shape[1:]))
        mat[ids] = pred[name]
        for tid, bid in specials.items():
            mat[tid] = base_mat[bid]
        mats[name] = mat
    info = {"truncated": pieces.truncated, "unknown": pieces.unknown,
            "mean_pieces": round(float(pieces.lengths.float().mean()), 3)}
    if pieces.truncated:
        log.info("%d of %d tokens had more than %d pieces (truncated)", pieces.truncated, len(order),
                 hyper.cfg.max_pieces)
    return mats, info


def tokenizer_matrices(hyper: Hypernetwork, target_hf: PreTrainedTokenizerBase, base_hf: PreTrainedTokenizerBase,
                       batch_tokens: int = 65536, lang: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """hypernet_matrices for a Hugging Face target tokenizer, special tokens mapped as in every transfer."""
    from tokshift.transfer import special_map

    return hypernet_matrices(hyper, target_hf.backend_tokenizer, special_map(target_hf, base_hf),
                             base_hf.backend_tokenizer, batch_tokens=batch_tokens, lang=lang)
