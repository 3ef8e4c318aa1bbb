"""Special tokens: which ones a tokenizer has, and which base token each target special maps to.

Every transfer method gives a target special token the base model's embedding of the same token
(by string) or else of the same role (bos/eos/pad/unk); a special with neither is an error, never a
silent guess. Leaves out: the embeddings themselves (model/embeddings.py).
"""

from __future__ import annotations

from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerBase

from tokshift.core.errors import TokshiftError

SPECIAL_ROLES = ("bos_token", "eos_token", "pad_token", "unk_token")


class SpecialTokenError(TokshiftError, ValueError):
    """A target special token has no counterpart in the base model."""


def special_strings(tok: PreTrainedTokenizerBase, named_only: bool = False) -> list[str]:
    """The named special tokens, then (unless `named_only`) the added tokens marked special (e.g. <|im_start|>),
    each once."""
    out = [str(t) for t in tok.all_special_tokens]
    if named_only:
        return out
    out += [t.content for t in tok.added_tokens_decoder.values() if t.special and t.content not in out]
    return out


def special_ids(tok: Tokenizer) -> set[int]:
    """Ids of a `tokenizers.Tokenizer`'s special added tokens (never merged or re-spelled)."""
    return {i for i, added in tok.get_added_tokens_decoder().items() if added.special}


def special_map(target: PreTrainedTokenizerBase, base: PreTrainedTokenizerBase) -> dict[int, int]:
    """Target special-token id -> base id, by identical string or else by role (bos/eos/pad/unk)."""
    base_vocab = base.get_vocab()
    out = {}
    for token in sorted(set(special_strings(target))):
        tid = target.convert_tokens_to_ids(token)
        if token in base_vocab:
            out[tid] = base_vocab[token]
            continue
        roles = [r for r in SPECIAL_ROLES if getattr(target, r, None) == token]
        base_ids = [getattr(base, f"{r}_id") for r in roles if getattr(base, f"{r}_id", None) is not None]
        if not base_ids:
            raise SpecialTokenError(
                f"target special token {token!r} (roles {roles or 'none'}) has no counterpart in the base model; "
                f"use the base model's special tokens in params.yaml: tokenizers.<name>.special_tokens")
        out[tid] = base_ids[0]
    return out
