"""The dynamic evaluation: one row per language and budget, budget 0 as the reference."""

from __future__ import annotations

import pytest


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
