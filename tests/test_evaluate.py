"""Bits per byte: every token scored once, batching changes nothing, the CLI works on any files."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT, make_text

from tokshift.cli import main as cli_main
from tokshift.model.base import load_model
from tokshift.model.score import ScoreConfig, capped_texts, score_texts, windows


@pytest.mark.parametrize("n, window, stride", [(10, 4, 3), (10, 4, 1), (3, 8, 4), (100, 16, 12), (17, 17, 9)])
def test_windows_score_every_token_once_with_context(n, window, stride):
    ids = list(range(n))
    scored = []
    for i, (win, k) in enumerate(windows(ids, window, stride)):
        assert len(win) <= window and 1 <= k <= len(win) - (1 if i == 0 else 0)
        scored += win[len(win) - k:]
        if i > 0:
            assert len(win) - k >= min(window - stride, win[0] + len(win) - k)  # context before scored tokens
    assert scored == ids[1:]


def reference_bits(model, tokenizer, text: str) -> float:
    """One unbatched forward over the whole document, no windows."""
    ids = torch.tensor([[tokenizer.eos_token_id, *tokenizer(text, add_special_tokens=False)["input_ids"]]])
    with torch.no_grad():
        logits = model(ids).logits
    return F.cross_entropy(logits[0, :-1], ids[0, 1:], reduction="sum").item() / math.log(2)


def test_score_matches_a_plain_forward(tiny_models):
    model, tok = load_model(str(tiny_models["llama-tied"]))
    texts = [make_text("de", 3, i) for i in range(5)]
    got = score_texts(model, tok, texts, ScoreConfig(window=4096, stride=2048, batch_tokens=8192))
    expected = sum(reference_bits(model, tok, t) for t in texts)
    assert got.nll_bits == pytest.approx(expected, rel=1e-4)
    assert got.n_bytes == sum(len(t.encode()) for t in texts)
    assert got.bpb == pytest.approx(expected / got.n_bytes, rel=1e-4)


def test_batching_and_padding_change_nothing(tiny_models):
    model, tok = load_model(str(tiny_models["neox-untied"]))
    texts = [make_text("ru", n, n) for n in (1, 2, 5, 9)]
    cfg_batched = ScoreConfig(window=32, stride=24, batch_tokens=32 * 8)
    one_by_one = sum(score_texts(model, tok, [t], ScoreConfig(window=32, stride=24, batch_tokens=32)).nll_bits
                     for t in texts)
    assert score_texts(model, tok, texts, cfg_batched).nll_bits == pytest.approx(one_by_one, rel=1e-4)


def test_capped_texts_cut_at_a_line():
    docs = ["a" * 50 + "\n" + "b" * 50, "c" * 10]
    assert capped_texts(docs, 1000) == docs
    assert capped_texts(docs, 70) == ["a" * 50]
    assert sum(len(t.encode()) for t in capped_texts(["ä\n" * 100], 51)) <= 51


def test_cli_evaluate_table_and_json(tiny_models, tmp_path, capsys):
    (tmp_path / "de.txt").write_text(make_text("de", 6, 1), encoding="utf-8")
    (tmp_path / "ja.txt").write_text(make_text("ja", 6, 1), encoding="utf-8")
    args = ["evaluate", "--model", str(tiny_models["llama-tied"]), "--model", str(tiny_models["neox-untied"]),
            "--text", str(tmp_path / "de.txt"), "--text", str(tmp_path / "ja.txt"), "--json", str(tmp_path / "r.json")]
    assert cli_main(args) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["model", "text", "bpb", "tokens", "bytes"] and len(table) == 5
    rows = json.loads((tmp_path / "r.json").read_text())
    assert len(rows) == 4 and all(r["bpb"] > 0 for r in rows)


@pytest.mark.parametrize("content, message", [(b"", "the file is empty"),
                                              (b"\xff\xfe oops", "invalid UTF-8 at byte 0")])
def test_cli_evaluate_bad_text(tiny_models, tmp_path, capsys, content, message):
    (tmp_path / "t.txt").write_bytes(content)
    assert cli_main(["evaluate", "--model", str(tiny_models["llama-tied"]), "--text", str(tmp_path / "t.txt")]) == 2
    assert message in capsys.readouterr().err


def test_cli_evaluate_missing_model(tmp_path, capsys):
    (tmp_path / "t.txt").write_text("Hallo Welt", encoding="utf-8")
    assert cli_main(["evaluate", "--model", str(tmp_path / "nope"), "--text", str(tmp_path / "t.txt")]) == 2
    assert "nope" in capsys.readouterr().err


def test_evaluation_png_and_offline_template(tmp_path):
    from tokshift.plots import evaluation_png

    rows = tmp_path / "evaluate.csv"
    rows.write_text("model,tokenizer,method,lang,bpb,tokens,bytes,tokens_per_byte\n"
                    "original/original,original,original,de,1.2,100,300,0.33\n"
                    "de/fvt,de,fvt,de,1.5,60,300,0.2\nde/mean,de,mean,de,3.0,60,300,0.2\n"
                    "original/original,original,original,ru,1.1,100,300,0.33\n", encoding="utf-8")
    out = evaluation_png(rows, tmp_path / "evaluate.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    template = (ROOT / ".dvc" / "plots" / "offline.html").read_text(encoding="utf-8")
    assert "{plot_divs}" in template and "{scripts}" not in template and "https://cdn" not in template
    assert all(f"<!-- {name}-" in template for name in ("vega", "vega-lite", "vega-embed"))
