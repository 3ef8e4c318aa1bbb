"""Dynamic tokens are embedded by the model's table or the hypernetwork (cached) and run through the model."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer

from tokshift.dynamic.merge import MergeConfig, dynamic_tokenize
from tokshift.tokenization.spelling import token_bytes, token_string


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
