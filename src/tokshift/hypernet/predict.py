"""A trained hypernetwork applied to a target tokenizer: its embedding matrices (the `hypernet` transfer method).

Every target token is spelled in base pieces and embedded; special tokens copy the base rows.
Leaves out: loading the network (folder.py) and writing the transfer folder (tokshift.transfers).
"""

from __future__ import annotations

import logging

import torch
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerBase

from tokshift.hypernet.model import Hypernetwork
from tokshift.tokenization.pieces import decompose_tokens
from tokshift.tokenization.specials import special_map

log = logging.getLogger(__name__)


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
    return hypernet_matrices(hyper, target_hf.backend_tokenizer, special_map(target_hf, base_hf),
                             base_hf.backend_tokenizer, batch_tokens=batch_tokens, lang=lang)
