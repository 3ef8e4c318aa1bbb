"""Tokenizers sampled on the fly encode any text, keep the specials, and count substrings exactly."""

from __future__ import annotations

import numpy as np

from tokshift.hypernet.sampler import SamplerConfig, SubstringCounts, sample_tokenizer
from tokshift.model.base import load_model


def test_sampled_tokenizer_encodes_any_text_and_keeps_specials(tiny_models):
    _, base = load_model(str(tiny_models["llama-tied"]))
    counts = SubstringCounts(base.backend_tokenizer, 8)
    for text in ["schöne Grüße aus der Stadt", "die Straße und die Stadt", "🙂 emoji ∑ math"]:
        counts.update(text, 1)
    cfg = SamplerConfig(vocab_min=20, vocab_max=30)
    specials = [base.bos_token, base.eos_token]
    sample = sample_tokenizer(counts, base.backend_tokenizer, specials, cfg, np.random.default_rng(0))
    assert sample.tokens[:2] == specials and sample.n_special == 2
    assert 20 + 256 <= len(sample.tokens) - 2 <= 30 + 256 + 30, "k pieces + every byte symbol + seen characters"
    text = "Straße ∑ 🙂 and text never seen: Ωμέγα 日本"
    enc = sample.tokenizer.encode(text, add_special_tokens=False)
    assert sample.tokenizer.decode(enc.ids) == text, "bytes are always in the vocabulary"
    assert base.bos_token_id not in enc.ids or sample.tokens[enc.ids[0]] != base.bos_token
    again = sample_tokenizer(counts, base.backend_tokenizer, specials, cfg, np.random.default_rng(0))
    assert again.tokens == sample.tokens, "seeded"


def test_counts_add_and_remove_exactly(tiny_models):
    _, base = load_model(str(tiny_models["llama-tied"]))
    counts = SubstringCounts(base.backend_tokenizer, 4)
    counts.update("aber aber", 1)
    assert counts.counts["Ġab"] == 1 and counts.counts["ab"] == 2  # 'aber' and 'Ġaber' pretokens
    counts.update("hallo", 1)
    counts.update("hallo", -1)
    assert "hal" not in counts.counts and counts.counts["ab"] == 2


def test_a_gemma_like_base_gets_pieces_within_words_as_its_own_are(corpus_file):
    """Gemma's normalizer turns spaces into ▁ and its pre-tokenizer splits nothing: sampled pieces must still end
    where a word does, or the hypernetwork trains on a tokenization unlike any it is asked for."""
    from tests.transfers.families import FAMILIES, base_tokenizer
    from tokshift.data.corpus import read_corpus

    texts = read_corpus(corpus_file, split="train", lang="de").column("text").to_pylist()
    base = base_tokenizer(next(f for f in FAMILIES if f.name == "gemma2"), texts).backend_tokenizer
    counts = SubstringCounts(base, 8)
    counts.update("Die Straße der Stadt\n\nund  die", 1)
    assert {"▁Straße", "\n\n", "▁▁die", "Die"} <= set(counts.pretokens("Die Straße der Stadt\n\nund  die"))
    assert not [s for s in counts.counts if "▁" in s.lstrip("▁") or ("\n" in s and s.strip())]
    sample = sample_tokenizer(counts, base, ["<bos>"], SamplerConfig(vocab_min=5, vocab_max=10),
                              np.random.default_rng(0))
    text = "Die Straße der Stadt\n\nund  die"
    assert sample.tokenizer.decode(sample.tokenizer.encode(text, add_special_tokens=False).ids) == text


def test_byte_level_pretokens_are_the_pre_tokenizers(tiny_models):
    _, base = load_model(str(tiny_models["llama-tied"]))
    counts, text = SubstringCounts(base.backend_tokenizer, 4), "Die  Straße\n\nder ▁ Stadt"
    from collections import Counter

    assert counts.pretokens(text) == Counter(p for p, _ in base.backend_tokenizer.pre_tokenizer.pre_tokenize_str(text))
