"""Figures are written as PNGs, and the DVC plots page works offline."""

from __future__ import annotations

from tests.helpers import ROOT


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
