"""Tokens spelled with base-tokenizer pieces, padded into a tensor: the hypernetwork's input.

A token is taken to its surface bytes (byte-level aware, so partial UTF-8 tokens work) and split by
the base tokenizer into at most `max_pieces` pieces; longer decompositions are truncated and counted.
Empty-string tokens are an error. Tokens the base cannot spell (nothing, or its unknown token; e.g.
the bytes 0xC0/0xC1/0xF5-0xFF that never occur in UTF-8 and some byte-level vocabularies omit) follow
`unknown`: "mean" (default) marks them so they get the mean base embedding and counts them, "unk"
embeds them as the base's unknown token, "error" stops with their list.
Leaves out: special tokens (they copy the base's embedding).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tokenizers import Tokenizer

from tokshift.core.errors import InputError, TokshiftError
from tokshift.tokenization.spelling import decompose, same_alphabet


class DecompositionError(TokshiftError, ValueError):
    """A target token has no usable spelling in base-tokenizer pieces."""


@dataclass
class Pieces:
    ids: torch.Tensor
    """[N, max_pieces] base-token ids, padded with -1 on the right."""
    lengths: torch.Tensor
    """[N] pieces per token (>= 1)."""
    truncated: int = 0
    """Tokens whose decomposition was longer than max_pieces."""
    unknown: int = 0
    """Tokens the base cannot spell (see `unknown` of decompose_tokens)."""
    mean_rows: torch.Tensor | None = None
    """[N] bool: rows that take the mean base embedding instead of a prediction (unknown='mean')."""
    exact: torch.Tensor | None = None
    """[N] base id of tokens the base vocabulary has verbatim, else -1 (copied when copy_exact is on)."""

    def __len__(self) -> int:
        return len(self.lengths)


def pad_pieces(rows: list[list[int]], max_pieces: int) -> Pieces:
    """Pad and truncate rows of base ids. Example: [[5], [7, 8, 9]], 2 -> ids [[5, -1], [7, 8]], truncated 1."""
    ids = torch.full((len(rows), max_pieces), -1, dtype=torch.long)
    lengths = torch.zeros(len(rows), dtype=torch.long)
    truncated = 0
    for i, row in enumerate(rows):
        truncated += len(row) > max_pieces
        row = row[:max_pieces]
        ids[i, :len(row)] = torch.tensor(row, dtype=torch.long)
        lengths[i] = len(row)
    return Pieces(ids, lengths, truncated=truncated)


def decompose_tokens(tokens: list[str], target: Tokenizer, base: Tokenizer, max_pieces: int,
                     unknown: str = "mean") -> Pieces:
    """Pieces of `tokens` (target vocabulary strings, e.g. 'Ġschönsten') in the base vocabulary.

    Tokens that exist verbatim in the base vocabulary are one piece: themselves.
    """
    same_bytes = same_alphabet(target, base)
    base_vocab = base.get_vocab(with_added_tokens=True)
    unk_token = getattr(base.model, "unk_token", None)
    unk = base.token_to_id(unk_token) if unk_token else None
    if unknown not in ("mean", "unk", "error"):
        raise InputError(f"unknown must be 'mean', 'unk' or 'error', got {unknown!r}")
    rows, bad, mean_rows, exact = [], [], [], []
    for token in tokens:
        exact.append(base_vocab.get(token, -1))
        if token == "":
            raise DecompositionError("the target vocabulary has an empty-string token; remove it from the tokenizer")
        row = [base_vocab[token]] if token in base_vocab else decompose(token, target, base, same_bytes)
        is_bad = not row or (unk is not None and unk in row)
        if is_bad:
            bad.append(token)
            if unknown == "unk" and unk is not None:
                row = row or [unk]
            elif unknown in ("mean", "unk"):
                row = [0]  # placeholder piece; the row is replaced by the mean embedding
                mean_rows.append(len(rows))
        rows.append(row)
    if bad and unknown == "error":
        raise DecompositionError(f"{len(bad)} target tokens cannot be spelled with the base tokenizer "
                                 f"(e.g. {bad[:5]}): they need characters the base does not know; "
                                 "use a byte-level base model, or unknown='mean'/'unk' to embed them as the mean "
                                 "embedding / the base's unknown token")
    out = pad_pieces(rows, max_pieces)
    out.unknown = len(bad)
    out.mean_rows = torch.zeros(len(rows), dtype=torch.bool)
    out.mean_rows[mean_rows] = True
    out.exact = torch.tensor(exact, dtype=torch.long)
    return out


def spell(strings: list[str], base: Tokenizer, max_pieces: int) -> Pieces:
    """Pieces of byte-level token strings (dynamic or extra tokens) in the base vocabulary, as in training."""
    return pad_pieces([decompose(s, base, base, same_bytes=True) for s in strings], max_pieces)
