"""Tokenizers sampled on the fly: a Unigram model whose pieces are frequent substrings of recent text.

As in Zero-Shot Tokenizer Transfer: a cache of recent training texts; substrings of their pretokens
(the base pre-tokenizer's, so byte-level strings stay byte-level) are scored by frequency x length;
the log scores get Gaussian noise whose std is drawn from LogNormal(ln 1e-5, 4), and the top-k
(k drawn per sample) become the pieces of a `tokenizers` Unigram model, set directly without EM.
Every single character seen and all 256 byte symbols (byte-level bases) are always included, so any
text can be encoded; the base's special tokens come first with their own ids 0..S-1 of the sample.
Leaves out: BPE-style samples (the paper's choice of Unigram keeps sampling cheap).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer, models
from tokenizers.pre_tokenizers import ByteLevel

from tokshift.core.params import check
from tokshift.tokenization.spelling import is_byte_level


@dataclass
class SamplerConfig:
    vocab_min: int = 2048
    """Smallest sampled vocabulary (pieces before bytes and special tokens)."""
    vocab_max: int = 4096
    """Largest sampled vocabulary; each sample draws k uniformly in [vocab_min, vocab_max]."""
    max_piece_chars: int = 16
    """Longest substring considered as a piece (characters of the pretoken)."""
    cache_texts: int = 256
    """Recent training texts whose substrings are counted."""
    noise_mu: float = math.log(1e-5)
    """Mean of log(noise std): the std of the Gaussian noise on log scores is LogNormal(noise_mu, noise_sigma)."""
    noise_sigma: float = 4.0
    """Std of log(noise std)."""
    specials: str = "all"
    """Which of the base's special tokens every sample carries (their base embeddings, in every softmax): all (the
    named ones and every added special token) or named (bos, eos, unk, pad, mask and the additional special tokens):
    for a base with thousands of placeholder tokens (Gemma 3's 6,241 <unusedN>), which otherwise outnumber a
    sample's pieces (Gemma 3 at step 100: 3.9 s a step with named, 4.2 s with all; one run each)."""

    def __post_init__(self) -> None:
        check(0 < self.vocab_min <= self.vocab_max, "vocab_min", f"must be in (0, vocab_max], got {self.vocab_min}")
        check(self.max_piece_chars >= 2, "max_piece_chars", f"must be >= 2, got {self.max_piece_chars}")
        check(self.cache_texts >= 1, "cache_texts", f"must be >= 1, got {self.cache_texts}")
        check(self.specials in ("all", "named"), "specials", f"must be all or named, got '{self.specials}'")


# a whitespace run, a word with the metaspaces (▁) before it, or a trailing run of metaspaces
WORD = re.compile(r"\s+|▁*[^\s▁]+|▁+")


class SubstringCounts:
    """Frequency of every substring (<= max_chars) of the pretokens of the texts added and not yet removed."""

    def __init__(self, base: Tokenizer, max_chars: int):
        self.pre, self.norm = base.pre_tokenizer, base.normalizer
        self.byte_level = is_byte_level(base)  # all 256 byte symbols go into every sample
        self.max_chars = max_chars
        self.counts: Counter[str] = Counter()

    def pretokens(self, text: str) -> Counter[str]:
        text = self.norm.normalize_str(text) if self.norm is not None else text
        parts = [text] if self.pre is None else [p for p, _ in self.pre.pre_tokenize_str(text)]
        # Gemma's pre-tokenizer splits nothing, yet its pieces never cross a word start (▁) or whitespace: neither
        # may a sampled piece. Byte-level and Metaspace pretokens hold no such boundary and stay whole.
        return Counter(w for p in parts for w in WORD.findall(p))

    def update(self, text: str, sign: int) -> None:
        """Add (sign=1) or remove (sign=-1) one text's substrings."""
        counts = self.counts
        for pretoken, freq in self.pretokens(text).items():
            n = len(pretoken)
            for i in range(n):
                for j in range(i + 1, min(n, i + self.max_chars) + 1):
                    sub = pretoken[i:j]
                    counts[sub] += sign * freq
                    if counts[sub] <= 0:
                        del counts[sub]


@dataclass
class SampledTokenizer:
    tokenizer: Tokenizer
    """The sampled tokenizer (base pre-tokenizer and decoder, Unigram model)."""
    tokens: list[str]
    """Its vocabulary in id order: special tokens, then pieces."""
    n_special: int
    """The first n_special ids are the base's special tokens (same strings)."""


def sample_tokenizer(counts: SubstringCounts, base: Tokenizer, specials: list[str], cfg: SamplerConfig,
                     rng: np.random.Generator) -> SampledTokenizer:
    """One random tokenizer from the current counts (see the module docstring)."""
    strings = sorted(counts.counts)  # a fixed order: the noise of a string must not depend on insertion history
    freq = np.fromiter((counts.counts[s] for s in strings), dtype=np.float64, count=len(strings))
    lengths = np.fromiter((len(s) for s in strings), dtype=np.float64, count=len(strings))
    log_score = np.log(freq * lengths)
    noise_std = rng.lognormal(cfg.noise_mu, cfg.noise_sigma)
    noisy = log_score + rng.normal(0.0, noise_std, size=len(strings))
    k = int(rng.integers(cfg.vocab_min, cfg.vocab_max + 1))
    multi = np.flatnonzero(lengths > 1)
    top = multi[np.argsort(-noisy[multi], kind="stable")[:k]]
    singles = {strings[i]: noisy[i] for i in np.flatnonzero(lengths == 1)}
    floor = float(noisy.min()) - 10.0 if len(noisy) else 0.0
    if counts.byte_level:  # every byte symbol, so any text is encodable
        for ch in ByteLevel.alphabet():
            singles.setdefault(ch, floor)
    pieces = [(s, float(v)) for s, v in sorted(singles.items())] + [(strings[i], float(noisy[i])) for i in top]
    norm = float(np.logaddexp.reduce(np.array([v for _, v in pieces]))) if pieces else 0.0
    vocab = [(s, -1e6) for s in specials] + [(s, v - norm) for s, v in pieces if s not in specials]
    tok = Tokenizer(models.Unigram(vocab, unk_id=None, byte_fallback=False))
    tok.pre_tokenizer, tok.decoder, tok.normalizer = base.pre_tokenizer, base.decoder, base.normalizer
    tok.add_special_tokens(specials)
    return SampledTokenizer(tok, [s for s, _ in vocab], len(specials))
