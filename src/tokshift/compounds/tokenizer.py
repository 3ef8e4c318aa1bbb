"""CompoundPiece: a tokenizer trained on text whose words are first cut into their predicted parts.

Every word of the training text is cut where the decompounder says (a private-use mark between parts); the
trainer's pre-tokenizer splits at the mark, so no token is learned across two parts. The saved tokenizer has
the stock pre-tokenizer: at inference it is an ordinary tokenizer whose vocabulary holds parts, not compound
chunks (a BPE merge learned inside parts can still apply across a boundary: `haus|tür` -> `au|st|ür`).
"""

from __future__ import annotations

import re
from pathlib import Path

from tqdm import tqdm

from tokshift.compounds.decompounder import load_decompounder
from tokshift.compounds.pairs import PLAIN
from tokshift.tokenization.training import TokenizerConfig, train_tokenizer, training_texts

MARK = "\ue000"


def marked_texts(texts: list[str], decompounder, min_chars: int = 4) -> tuple[list[str], dict]:
    """`texts` with MARK between predicted parts of every word of at least `min_chars` letters; and counts."""
    words = sorted({w.lower() for t in texts for w in PLAIN.findall(t) if len(w) >= min_chars
                    and len(w) == len(w.lower())})
    cuts = {}
    for s in tqdm(range(0, len(words), 8192), desc="decompounding", unit="batch"):
        batch = words[s:s + 8192]
        cuts.update({w: c for w, c in zip(batch, decompounder.split_all(batch), strict=False) if c})

    def mark(match: re.Match) -> str:
        word = match.group(0)
        c = cuts.get(word.lower())
        if not c:
            return word
        edges = [0, *c, len(word)]
        return MARK.join(word[a:b] for a, b in zip(edges, edges[1:], strict=False))

    out = [PLAIN.sub(mark, t.replace(MARK, "")) for t in texts]
    return out, {"distinct_words": len(words), "split_words": len(cuts)}


def train_compound_tokenizer(corpus: Path, cfg: TokenizerConfig, decompounder_dir: Path, out_dir: Path) -> dict:
    """Train `cfg`'s tokenizer on the decompounded train split and save it (stock pre-tokenizer); returns metrics."""
    texts, counts = marked_texts(list(training_texts(corpus, cfg)), load_decompounder(decompounder_dir))
    return {**train_tokenizer(corpus, cfg, out_dir, texts=texts, boundary=MARK), **counts}
