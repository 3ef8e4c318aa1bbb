"""Figures are written as PNGs, and the DVC plots page works offline."""

from __future__ import annotations

import pytest

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


@pytest.fixture()
def figures(monkeypatch):
    """The matplotlib figures the plot functions hand to save_png, instead of files."""
    import tokshift.plots

    drawn = []
    monkeypatch.setattr(tokshift.plots, "save_png", lambda fig, out: drawn.append(fig) or out)
    return drawn


def test_hypernet_curve_draws_each_tokenizer_against_its_fvt_level(tmp_path, figures):
    from tokshift.plots import hypernet_png

    curve = tmp_path / "bpb.csv"
    curve.write_text("step,seconds,de/hypernet,ja/hypernet,de/fvt,ja/fvt\n0,0.0,2.0,1.8,2.0,1.8\n"
                     "60,300.5,1.9,1.7,2.0,1.8\n", encoding="utf-8")
    hypernet_png(curve, tmp_path / "bpb.png")
    lines = {line.get_label(): line for line in figures[0].axes[0].get_lines()}
    assert list(lines["de hypernet"].get_xdata()) == [0.0, 300.5]
    assert list(lines["ja hypernet"].get_ydata()) == [1.8, 1.7]
    assert list(lines["ja FVT"].get_ydata()) == [1.8, 1.8], "FVT is a flat level"


def test_dynamic_figure_has_one_line_per_language_in_budget_order(tmp_path, figures):
    from tokshift.plots import dynamic_png

    rows = tmp_path / "dynamic.csv"
    rows.write_text("lang,budget,reduction,bpb_change\nde,50,0.1,0.02\nde,0,0.0,0.0\nja,0,0.0,0.0\n"
                    "ja,50,0.2,0.05\n", encoding="utf-8")
    dynamic_png(rows, tmp_path / "dynamic.png")
    lines = {line.get_label(): line for line in figures[0].axes[0].get_lines() if not line.get_label().startswith("_")}
    assert list(lines["de"].get_xdata()) == [0.0, 10.0] and list(lines["ja"].get_ydata()) == [0.0, 5.0]
