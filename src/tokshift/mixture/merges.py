"""A BPE tokenizer's ordered merge list, as token-id pairs, and the word counts its merges apply to.

`read_merges` reads `tokenizer.json` (any Hugging Face BPE tokenizer: byte-level like GPT-2 and SmolLM2, or
character-level) and checks that every merge names vocabulary tokens. `word_counts` splits sample text with
the tokenizer's own normalizer and pre-tokenizer, so the words are the units BPE training merged inside.
Leaves out: Unigram and WordPiece (no merge list: refused), and BPE with a word-start/word-end marker
(`continuing_subword_prefix`, `end_of_word_suffix`: refused, their training counts differ).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from tokshift.core.errors import CorruptFileError, MissingFileError, TokshiftError


class MergeListError(TokshiftError, ValueError):
    """A tokenizer has no usable merge list (not BPE, or merges naming tokens it does not have)."""


@dataclass
class BpeMerges:
    merges: list[tuple[int, int, int]]
    """Merge t joins the token ids (left, right) into a new id: (left, right, new), in training order."""
    vocab: dict[str, int]
    """Token -> id; the alphabet a word's characters start as."""
    tokenizer: Tokenizer
    """The whole tokenizer (normalizer and pre-tokenizer split sample text; encoding for baselines)."""

    def splitter_key(self) -> str:
        """Equal keys split text into the same words (normalizer and pre-tokenizer are the same)."""
        spec = json.loads(self.tokenizer.to_str())
        return json.dumps([spec.get("normalizer"), spec.get("pre_tokenizer")], sort_keys=True)


def read_merges(directory: str | Path) -> BpeMerges:
    """The merge list of the BPE tokenizer in `directory`; a one-line error if it has none or it is unusable."""
    path = Path(directory) / "tokenizer.json"
    if not path.exists():
        raise MissingFileError(f"{path}: not found; point to a tokenizer folder that holds a tokenizer.json")
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        spec["model"]["vocab"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise CorruptFileError(f"{path}: not a tokenizer file ({str(err)[:120]}); rebuild the tokenizer") from None
    return parse_merges(spec, str(path))


def parse_merges(spec: dict, where: str) -> BpeMerges:
    """The merge list of a parsed tokenizer.json (`where` names it in errors)."""
    path, model = where, spec["model"]
    kind = model.get("type", "?")
    if kind != "BPE":
        raise MergeListError(f"{path}: a {kind} tokenizer has no merge list; data mixture inference needs a BPE "
                             f"tokenizer")
    for marker in ("continuing_subword_prefix", "end_of_word_suffix"):
        if model.get(marker):
            raise MergeListError(f"{path}: BPE with {marker} '{model[marker]}' is not supported (its merges count "
                                 f"word-marked pairs)")
    vocab = model["vocab"]
    merges = []
    for t, merge in enumerate(model.get("merges") or []):
        left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
        for token in (left, right, left + right):
            if token not in vocab:
                raise MergeListError(f"{path}: merge {t} ({left!r}, {right!r}) names {token!r}, which is not in "
                                     f"the vocabulary; the file is inconsistent: rebuild the tokenizer")
        merges.append((vocab[left], vocab[right], vocab[left + right]))
    if not merges:
        raise MergeListError(f"{path}: the BPE merge list is empty; nothing to infer from")
    return BpeMerges(merges, vocab, Tokenizer.from_str(json.dumps(spec)))


def word_counts(tok: Tokenizer, texts: Iterable[str]) -> Counter[str]:
    """Pre-tokens of `texts` with their counts, as the tokenizer's trainer sees them.

    Example (byte-level): ["hi hi"] -> {"hi": 1, "Ġhi": 1}.
    """
    normalizer, pre = tok.normalizer, tok.pre_tokenizer
    counts: Counter[str] = Counter()
    for text in texts:
        if normalizer is not None:
            text = normalizer.normalize_str(text)
        words = pre.pre_tokenize_str(text) if pre is not None else [(text, None)]
        counts.update(word for word, _ in words)
    return counts
