"""Plots that render offline: a DVC HTML template with vega inlined, and a matplotlib PNG of the evaluation.

DVC's default plot page loads vega, vega-lite and vega-embed from a CDN, which a machine without
network cannot reach. `offline_template` inlines the builds from their npm packages (fetched with
`npm pack`) into a template that DVC uses through `plots.html_template` in `.dvc/config`.
"""

from __future__ import annotations

import csv
import subprocess
import tarfile
import tempfile
from pathlib import Path

from tokshift.core.atomic import atomic_file

NPM_BUILDS = {"vega@5": "vega.min.js", "vega-lite@5": "vega-lite.min.js", "vega-embed@6": "vega-embed.min.js"}
TEMPLATE = """<!DOCTYPE html>
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>tokshift plots</title>
{scripts}
    <style>table {{ border-spacing: 15px; }}</style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def offline_template(out: Path) -> Path:
    """Write the DVC plot template with vega, vega-lite and vega-embed inlined (needs `npm`)."""
    scripts = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec, build in NPM_BUILDS.items():
            packed = subprocess.run(["npm", "pack", "--silent", spec], cwd=tmp, capture_output=True, text=True,
                                    check=True).stdout.strip().splitlines()[-1]
            with tarfile.open(Path(tmp) / packed) as tar:
                code = tar.extractfile(f"package/build/{build}").read().decode("utf-8")
            code = code.replace("</script", "<\\/script")  # the page must not end the inline script early
            scripts.append(f"    <!-- {packed} -->\n    <script>{code}</script>")
    with atomic_file(out) as tmp_file:
        tmp_file.write_text(TEMPLATE.format(scripts="\n".join(scripts)), encoding="utf-8")
    return out


def save_png(fig, out: Path) -> Path:
    """Write a matplotlib figure as PNG atomically and free it."""
    import matplotlib.pyplot as plt

    with atomic_file(out) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return out


def evaluation_png(rows_csv: Path, out: Path) -> Path:
    """Grouped bars of bits per byte per language and model (original and each tokenizer x method), with their 95%
    intervals as error bars where the CSV has bpb_lo and bpb_hi."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with rows_csv.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    langs = sorted({r["lang"] for r in rows})
    methods = sorted({r["method"] for r in rows}, key=lambda m: (m != "original", m))
    fig, axes = plt.subplots(1, len(langs), figsize=(3.2 * len(langs), 4.2), sharey=True)
    axes = axes if len(langs) > 1 else [axes]
    for ax, lang in zip(axes, langs, strict=True):
        sel = [r for r in rows if r["lang"] == lang]
        toks = sorted({r["tokenizer"] for r in sel}, key=lambda t: (t != "original", t))
        width = len(methods) + 1  # one gap between tokenizer groups
        for r in sel:
            m_i, t_i = methods.index(r["method"]), toks.index(r["tokenizer"])
            bpb = float(r["bpb"])
            # the 95% interval where the rows carry one (documents resampled)
            err = [[bpb - float(r["bpb_lo"])], [float(r["bpb_hi"]) - bpb]] if r.get("bpb_lo") else None
            ax.bar(t_i * width + m_i, bpb, yerr=err, capsize=2, color=f"C{m_i}", label=r["method"])
        ax.set_title(lang)
        ax.set_xticks([t_i * width + (len(methods) - 1) / 2 for t_i in range(len(toks))], toks, rotation=30,
                      ha="right", fontsize=8)
    axes[0].set_ylabel("bits per byte (lower is better)")
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return save_png(fig, out)


def hypernet_png(curve_csv: Path, out: Path, ylabel: str = "valid bits per byte (lower is better)") -> Path:
    """Valid bpb (or another metric, `ylabel`) vs training seconds: one solid line per eval tokenizer (hypernet), its
    FVT level dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with curve_csv.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    seconds = [float(r["seconds"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    names = [k[: -len("/hypernet")] for k in rows[0] if k.endswith("/hypernet")]
    for i, name in enumerate(names):
        ax.plot(seconds, [float(r[f"{name}/hypernet"]) for r in rows], color=f"C{i}", marker="o",
                label=f"{name} hypernet")
        if rows[0].get(f"{name}/fvt"):
            ax.axhline(float(rows[0][f"{name}/fvt"]), color=f"C{i}", linestyle="--", label=f"{name} FVT")
    ax.set_xlabel("training seconds (evaluations left out)")
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return save_png(fig, out)


def hypernet_variants_png(curves: Path, out: Path) -> Path:
    """Valid bpb vs training seconds of every <variant>.csv in `curves` (the hypernet stage's bpb CSVs): one
    panel per eval tokenizer, one line per variant, the FVT level dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = {}
    for path in sorted(curves.glob("*.csv"), key=lambda p: (p.stem != "lm", p.stem)):  # the reference first
        with path.open(encoding="utf-8") as f:
            variants[path.stem] = list(csv.DictReader(f))
    first = next(iter(variants.values()))
    tokenizers = [k[: -len("/hypernet")] for k in first[0] if k.endswith("/hypernet")]
    fig, axes = plt.subplots(1, len(tokenizers), figsize=(4.2 * len(tokenizers), 3.8), squeeze=False)
    for ax, tok in zip(axes[0], tokenizers, strict=True):
        for i, (variant, rows) in enumerate(variants.items()):
            ax.plot([float(r["seconds"]) for r in rows], [float(r[f"{tok}/hypernet"]) for r in rows], color=f"C{i}",
                    marker="o", markersize=3, label=variant)
        ax.axhline(float(first[0][f"{tok}/fvt"]), color="grey", linestyle="--", label="FVT")
        ax.set_title(tok, fontsize=10)
        ax.set_xlabel("training seconds (evaluations left out)")
    axes[0][0].set_ylabel("valid bits per byte (lower is better)")
    axes[0][-1].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return save_png(fig, out)


def adapt_variants_png(curves: Path, out: Path) -> Path:
    """Valid bpb vs seconds of every <variant>.csv in `curves` (the adapt stage's curves), the original dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    original = None
    for i, path in enumerate(sorted(curves.glob("*.csv"))):
        with path.open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        ax.plot([float(r["seconds"]) for r in rows], [float(r["bpb"]) for r in rows], color=f"C{i}", marker="o",
                markersize=3, label=path.stem)
        original = float(rows[0]["original"])
    if original is not None:
        ax.axhline(original, color="grey", linestyle="--", label="original tokenizer")
    ax.set_xlabel("seconds (training and evaluations)")
    ax.set_ylabel("valid bits per byte (lower is better)")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return save_png(fig, out)


def dynamic_png(rows_csv: Path, out: Path) -> Path:
    """Prefix token reduction vs continuation bpb change, one line per language over the merge budgets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with rows_csv.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for i, lang in enumerate(dict.fromkeys(r["lang"] for r in rows)):
        mine = sorted((r for r in rows if r["lang"] == lang), key=lambda r: int(r["budget"]))
        ax.plot([100 * float(r["reduction"]) for r in mine], [100 * float(r["bpb_change"]) for r in mine],
                color=f"C{i}", marker="o", label=lang)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("prefix tokens removed by dynamic merges (%)")
    ax.set_ylabel("continuation bits per byte change (%)")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return save_png(fig, out)
