"""Valid bpb against training seconds for hypernetwork objectives: the stage run once per variant, same seed.

Each variant is `name=override,override,...` of params.yaml's hypernet section (values parsed as YAML);
every variant gets the same eval tokenizers and valid text as the stage, and its own fresh checkpoint
folder. The curves (seconds exclude the evaluations) are written in long form to --csv, drawn with
their FVT levels to --png. Example (the figures in docs/hypernet.md):

    python bench/hypernet_objectives.py --csv docs/hypernet_variants.csv --png docs/hypernet_variants.png \
        --variant "lm=objective=lm,steps=40,eval_every=20" --variant "hidden=objective=hidden,steps=100,eval_every=50"
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from tokshift.atomic import write_csv
from tokshift.plots import hypernet_variants_png

ROOT = Path(__file__).resolve().parent.parent


def parse_variant(text: str) -> tuple[str, dict]:
    """'hidden=objective=hidden,steps=100' -> ('hidden', {'objective': 'hidden', 'steps': 100}); dotted keys nest."""
    name, _, rest = text.partition("=")
    overrides: dict = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        *parents, leaf = key.split(".")
        node = overrides
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = yaml.safe_load(value)
    return name, overrides


def merged(base: dict, overrides: dict) -> dict:
    out = dict(base)
    for key, value in overrides.items():
        out[key] = merged(base.get(key, {}), value) if isinstance(value, dict) else value
    return out


def run_variant(name: str, overrides: dict, params: dict, args, tmp: Path) -> list[dict]:
    folder = tmp / name.replace("+", "_")
    folder.mkdir()
    (folder / "params.yaml").write_text(yaml.safe_dump({"hypernet": merged(params["hypernet"], overrides)}))
    cmd = [sys.executable, "stages/hypernet.py", "--params", str(folder / "params.yaml"), "--model", args.model,
           "--corpus", args.corpus, "--out", str(folder / "out"), "--checkpoints", str(folder / "ckpt"),
           "--metrics", str(folder / "metrics.json"), "--curve", str(folder / "train.csv"),
           "--bpb-curve", str(folder / "bpb.csv"), "--png", str(folder / "bpb.png")]
    print(f"variant {name}: {overrides}", flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    rows = []
    with (folder / "bpb.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for key in row:
                if key.endswith("/hypernet"):
                    tok = key[: -len("/hypernet")]
                    rows.append({"variant": name, "step": row["step"], "seconds": row["seconds"], "tokenizer": tok,
                                 "bpb": row[key], "fvt": row[f"{tok}/fvt"]})
    print("\n".join(f"  {r['tokenizer']:<16} step {r['step']:>4} {float(r['seconds']):7.1f} s  bpb {r['bpb']}"
                    for r in rows), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="storage/models/base")
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--variant", action="append", required=True, help="name=key=value,key=value (repeatable)")
    parser.add_argument("--csv", required=True, help="long-form curves to write (appended to when it exists)")
    parser.add_argument("--png", required=True, help="figure to write")
    args = parser.parse_args()
    params = yaml.safe_load(Path(args.params).read_text(encoding="utf-8"))
    out = Path(args.csv)
    rows = list(csv.DictReader(out.open(encoding="utf-8"))) if out.exists() else []
    with tempfile.TemporaryDirectory(prefix="hypernet-variants-") as tmp:
        for text in args.variant:
            name, overrides = parse_variant(text)
            rows = [r for r in rows if r["variant"] != name] + run_variant(name, overrides, params, args, Path(tmp))
            write_csv(out, rows)  # after each variant: a long run keeps what it has measured
    hypernet_variants_png(out, Path(args.png))


if __name__ == "__main__":
    main()
