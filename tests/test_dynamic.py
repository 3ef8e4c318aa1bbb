"""Dynamic tokenization: batch-level merges that are exact, bounded, and respect units and specials."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, pre_tokenizers

from tokshift.core.params import ParamsError
from tokshift.dynamic.merge import MergeConfig, dynamic_tokenize
from tokshift.tokenization.spelling import token_bytes, token_string


@pytest.fixture(scope="module")
def base(tokenizers_dir) -> Tokenizer:
    return Tokenizer.from_file(str(tokenizers_dir / "de-bpe-400" / "tokenizer.json"))


def specials(base: Tokenizer) -> set[int]:
    return {i for i, t in base.get_added_tokens_decoder().items() if t.special}


# Any Unicode: emoji, combining marks, right-to-left, CJK, control characters, surrogates excluded.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
PIECES = ["Haus", "haus", " Haus", "-", "ü", "👍🏽", "e\u0301", "שלום", "東京", "\x00", "\t", "\n\n", "  ",
          "state-of-the-art", "end.", "<|im_end|>", "<|endoftext|>"]
MIXED = st.lists(st.sampled_from(PIECES), max_size=20).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(ANY_TEXT, MIXED), min_size=1, max_size=4), budget=st.integers(0, 40),
       boundary=st.sampled_from(["pretoken", "word", "word_hyphen"]))
def test_dynamic_tokens_concatenate_back_to_the_text(base, texts, budget, boundary):
    cfg = MergeConfig(budget=budget, boundary=boundary, max_pieces=5, min_count=1)
    batch = dynamic_tokenize(texts, base, cfg)
    special = specials(base)
    for text, tokens in zip(texts, batch.tokens, strict=True):
        assert b"".join(token_bytes(t, base) for t in tokens) == text.encode("utf-8")
        assert all(1 <= len(t) <= 5 for t in tokens)
        assert all(len(t) == 1 for t in tokens if special & set(t)), "special tokens are never merged"
    assert batch.merges <= budget


def test_budget_zero_is_the_base_tokenization(base):
    texts = ["Das Haus ist schön.", "Ein schönes Haus<|endoftext|>"]
    batch = dynamic_tokenize(texts, base, MergeConfig(budget=0))
    assert batch.tokens == [[(i,) for i in base.encode(t, add_special_tokens=False).ids] for t in texts]
    assert batch.reduction == 0.0 and batch.merges == 0


def test_the_most_frequent_pair_merges_first_and_everywhere(base):
    texts = ["Haushalt Haushalt Haushalt Garten", "Haushalt Garten"]
    enc = base.encode("Haushalt", add_special_tokens=False)
    assert len(enc.ids) >= 2, "the tiny base must split the word for this test"
    one = dynamic_tokenize(texts, base, MergeConfig(budget=1))
    first = next(t for t in one.tokens[0] if len(t) == 2)
    assert all(token_string(first, base) in "".join(token_string(t, base) for t in row) for row in one.tokens)
    full = dynamic_tokenize(texts, base, MergeConfig(budget=100))
    assert token_string(full.tokens[0][0], base) == "Haushalt"
    assert full.tokens[0][0] == full.tokens[1][0], "the same word gets the same dynamic token in every text"


def test_min_count_keeps_pairs_seen_once(base):
    batch = dynamic_tokenize(["Zwischenüberschrift"], base, MergeConfig(budget=100, min_count=2))
    assert batch.merges == 0


@pytest.mark.parametrize("boundary,merged,apart", [
    ("pretoken", ["Ġstate"], ["Ġstate-"]),
    ("word", ["Ġstate-of-the-art", "Ġend."], ["Ġend.Ġ"]),
    ("word_hyphen", ["Ġstate-of-the-art", "Ġend"], ["Ġend."]),
])
def test_boundary_modes(base, boundary, merged, apart):
    texts = [" state-of-the-art end. " * 3]
    batch = dynamic_tokenize(texts, base, MergeConfig(budget=1000, boundary=boundary))
    strings = {token_string(t, base) for t in batch.tokens[0]}
    assert set(merged) <= strings
    assert not any(a in s for a in apart for s in strings)


def test_target_reduction_stops_early(base):
    texts = ["Das Haus am See ist ein schönes Haus am See."] * 4
    full = dynamic_tokenize(texts, base, MergeConfig(budget=1000))
    part = dynamic_tokenize(texts, base, MergeConfig(budget=1000, target_reduction=0.2))
    assert 0.2 <= part.reduction < full.reduction and part.merges < full.merges


def test_bad_input(base):
    with pytest.raises(ValueError, match="at least one text"):
        dynamic_tokenize([], base, MergeConfig())
    with pytest.raises(ParamsError, match="budget"):
        MergeConfig(budget=-1)
    with pytest.raises(ParamsError, match="boundary"):
        MergeConfig(boundary="sentence")
    wordpiece = Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    wordpiece.pre_tokenizer = pre_tokenizers.Whitespace()
    with pytest.raises(ValueError, match="byte-level"):
        dynamic_tokenize(["a a"], wordpiece, MergeConfig())
    # Whitespace and control characters only: handled, still exact.
    batch = dynamic_tokenize([" \t\n\x00 ", ""], base, MergeConfig(min_count=1))
    assert b"".join(token_bytes(t, base) for t in batch.tokens[0]) == b" \t\n\x00 " and batch.tokens[1] == []


@pytest.fixture(scope="module")
def tiny(tiny_models):
    import torch

    from tokshift.hypernet.model import HypernetConfig, Hypernetwork
    from tokshift.model.base import load_model
    from tokshift.model.embeddings import embedding_matrices

    model, tok = load_model(str(tiny_models["llama-tied"]))
    torch.manual_seed(0)
    hyper = Hypernetwork(HypernetConfig(n_layers=1, hidden=16, n_heads=2, max_pieces=5), embedding_matrices(model))
    return model, tok, hyper


def test_prefix_with_no_merges_scores_like_the_model(tiny, base):
    import math

    import torch
    import torch.nn.functional as F

    from tokshift.dynamic.embed import DynamicEmbedder, continuation_bits

    model, tok, hyper = tiny
    prefix, cont = "Das Haus am See ist", " ein schönes Haus."
    cont_ids = base.encode(cont, add_special_tokens=False).ids
    batch = dynamic_tokenize([prefix], base, MergeConfig(budget=0))
    bits = continuation_bits(model, DynamicEmbedder(model, hyper, base), batch, [cont_ids], tok.bos_token_id)[0]
    ids = torch.tensor([[tok.bos_token_id, *base.encode(prefix, add_special_tokens=False).ids, *cont_ids]])
    logits = model(input_ids=ids).logits[0]
    n = len(cont_ids)
    expected = F.cross_entropy(logits[-n - 1:-1], ids[0, -n:], reduction="sum").item() / math.log(2)
    assert bits == pytest.approx(expected, rel=1e-5)


def test_merged_tokens_come_from_the_hypernetwork_through_the_cache(tiny, base):
    import torch

    from tokshift.dynamic.embed import DynamicEmbedder

    model, _, hyper = tiny
    texts = ["Haushalt Haushalt Haushalt"] * 2
    batch = dynamic_tokenize(texts, base, MergeConfig(budget=100, max_pieces=5))
    emb = DynamicEmbedder(model, hyper, base, cache_size=10)
    merged = [t for t in batch.tokens[0] if len(t) > 1]
    assert merged
    rows = emb.rows(merged)
    table = model.get_input_embeddings().weight
    for tok, row in zip(merged, rows, strict=True):  # the untrained hypernetwork is FVT: the mean of the pieces
        pieces = [t.id for t in base.model.tokenize(token_string(tok, base))]
        assert torch.allclose(row, table[pieces].mean(0), atol=1e-5)
    assert emb.stats.misses == len({token_string(t, base) for t in merged})
    emb.rows(merged)
    assert emb.stats.hits >= len(merged) and 0 < emb.stats.hit_rate < 1
    with pytest.raises(ValueError, match="cache_size"):
        DynamicEmbedder(model, hyper, base, cache_size=-1)


def test_dynamic_eval_rows(tiny, base):
    from tokshift.dynamic.embed import DynamicEmbedder
    from tokshift.dynamic.evaluate import DynamicEvalConfig, evaluate_dynamic, split_document

    model, tok, hyper = tiny
    text = "Das Haus am See ist ein schönes Haus. " * 6
    cfg = DynamicEvalConfig(langs=["de"], docs=3, prefix_tokens=40, continuation_tokens=10, min_prefix_tokens=8,
                            budgets=[20, 5])
    prefix, cont = split_document(text, base, cfg)
    assert text.startswith(prefix) and base.decode(cont) and len(cont) == 10
    assert base.encode(prefix, add_special_tokens=False).ids + cont == base.encode(text).ids[:len(
        base.encode(prefix, add_special_tokens=False).ids) + 10], "cut at a pretoken: tokenizes as the whole"
    rows = evaluate_dynamic(model, DynamicEmbedder(model, hyper, base), base, tok.bos_token_id,
                            {"de": [text, "zu kurz", text[5:]]}, cfg)
    assert [r["budget"] for r in rows] == [0, 5, 20], "budget 0 is always the reference"
    assert rows[0]["reduction"] == 0.0 and rows[0]["bpb_change"] == 0.0 and rows[0]["docs"] == 2
    assert 0 < rows[1]["reduction"] <= rows[2]["reduction"] and rows[2]["prefix_tokens"] < rows[0]["prefix_tokens"]
    with pytest.raises(ValueError, match="no test document"):
        evaluate_dynamic(model, DynamicEmbedder(model, hyper, base), base, tok.bos_token_id, {"de": ["kurz"]}, cfg)


def test_encoder_inputs_keep_the_template_and_padding_out(tiny_models, base):
    """Encoder use: [template specials + dynamic tokens], right-padded; no merges = the model's own input."""
    import torch
    from tokenizers.processors import TemplateProcessing
    from transformers import BertForMaskedLM, BertForSequenceClassification

    from tokshift.dynamic.embed import DynamicEmbedder, run_dynamic
    from tokshift.hypernet.model import HypernetConfig, Hypernetwork
    from tokshift.model.embeddings import embedding_matrices

    encoder_base = Tokenizer.from_str(base.to_str())  # a [CLS] $A [SEP] template, with this vocabulary's specials
    encoder_base.post_processor = TemplateProcessing(single="<|im_start|> $A <|im_end|>",
                                                     special_tokens=[("<|im_start|>", 1), ("<|im_end|>", 2)])
    mlm = BertForMaskedLM.from_pretrained(tiny_models["bert-mlm"]).eval()
    torch.manual_seed(0)
    hyper = Hypernetwork(HypernetConfig(n_layers=1, hidden=16, n_heads=2, max_pieces=5), embedding_matrices(mlm))
    embedder = DynamicEmbedder(mlm, hyper, encoder_base)
    mask = "<|endoftext|>"  # stands in for [MASK]: a special token, so it is never merged
    texts = [f"Der Haushalt{mask} plant den Haushalt der Stadt.", "Haushalt und Garten"]

    out, inputs = run_dynamic(mlm, embedder, texts, MergeConfig(budget=0))
    for row, text in enumerate(texts):
        ids = encoder_base.encode(text).ids
        assert inputs.tokens[row] == [(i,) for i in ids] and int(inputs.attention_mask[row].sum()) == len(ids)
        own = mlm(input_ids=torch.tensor([ids])).logits[0]
        assert torch.allclose(out.logits[row, :len(ids)], own, atol=1e-5)

    out, inputs = run_dynamic(mlm, embedder, texts * 3, MergeConfig(budget=20))
    first = inputs.tokens[0]
    assert len(first) < len(encoder_base.encode(texts[0]).ids), "merges shorten the input"
    assert first[0] == (1,) and first[-1] == (2,), "the template's specials surround the dynamic tokens"
    assert (0,) in first, "the mask stays one token: its row of out.logits is the fill-mask prediction"
    assert out.logits.shape[:2] == inputs.attention_mask.shape
    assert b"".join(token_bytes(t, encoder_base) for t in first[1:-1]) == texts[0].encode()

    classifier = BertForSequenceClassification(mlm.config.__class__(**{**mlm.config.to_dict(), "num_labels": 3}))
    classifier.eval()
    embedder = DynamicEmbedder(classifier, hyper, encoder_base)
    logits, inputs = run_dynamic(classifier, embedder, texts, MergeConfig(budget=20, min_count=1))
    for row in range(len(texts)):  # padding changes nothing: each row alone gives the same prediction
        n = int(inputs.attention_mask[row].sum())
        alone = classifier(inputs_embeds=inputs.inputs_embeds[row:row + 1, :n]).logits[0]
        assert torch.allclose(logits.logits[row], alone, atol=1e-5)
