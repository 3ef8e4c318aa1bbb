"""Valid bpb against training seconds for hypernetwork objectives: the stage run once per variant, same seed.

Each variant is `name=override,override,...` of params.yaml's hypernet section (values parsed as YAML);
every variant gets the same eval tokenizers and valid sample as the stage, and its own fresh checkpoint
folder. Each variant's curve (the stage's bpb CSV: step, training seconds without the evaluations, bpb
per eval tokenizer, FVT levels) is kept as --out/<name>.csv (a DVC plot) next to its metrics
(--out/<name>.json), and all curves in the folder are drawn to --png. Example (the figures in docs/hypernet.md):

    python bench/hypernet_objectives.py --out docs/hypernet_variants --png docs/hypernet_variants.png \
        --variant "lm=objective=lm,steps=40,eval_every=20" --variant "hidden=objective=hidden,steps=100,eval_every=50"
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

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


def run_variant(stage: str, stage_args: list[str], name: str, overrides: dict, params: dict, args,
                folder: Path) -> None:
    """Run `stages/<stage>.py` once with params.yaml's section of that name plus `overrides` (its own folder for
    outputs and checkpoints); print its curve --out/<name>.csv, and copy its `out` folder to --keep/<name> if asked."""
    folder.mkdir()
    (folder / "params.yaml").write_text(yaml.safe_dump({stage: merged(params[stage], overrides)}))
    cmd = [sys.executable, f"stages/{stage}.py", "--params", str(folder / "params.yaml"), "--corpus", args.corpus,
           "--samples", args.samples, "--out", str(folder / "out"), "--checkpoints", str(folder / "ckpt"),
           "--metrics", str(Path(args.out) / f"{name}.json"), *stage_args]
    print(f"variant {name}: {overrides}", flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    print((Path(args.out) / f"{name}.csv").read_text(encoding="utf-8"), flush=True)
    if args.keep:  # the trained folder, to transfer or evaluate on the test sample afterwards
        shutil.copytree(folder / "out", Path(args.keep) / name, dirs_exist_ok=True)


def variant_parser(doc: str, keep: str) -> argparse.ArgumentParser:
    """The options every variant bench takes; `keep` says what --keep keeps."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--samples", default="storage/samples/samples.parquet", help="the stage's valid sample")
    parser.add_argument("--variant", action="append", required=True, help="name=key=value,key=value (repeatable)")
    parser.add_argument("--out", required=True, help="folder of curves and metrics, a CSV and a JSON per variant "
                        "(others are kept)")
    parser.add_argument("--png", required=True, help="figure of every curve in --out")
    parser.add_argument("--keep", help=f"folder to keep each variant's {keep} in (<keep>/<name>)")
    return parser


def run_variants(args, stage: str, stage_args) -> None:
    """Every --variant of `args` in turn; `stage_args(folder, name)` gives the stage's own further arguments."""
    params = yaml.safe_load(Path(args.params).read_text(encoding="utf-8"))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{stage}-variants-") as tmp:
        for text in args.variant:
            name, overrides = parse_variant(text)
            folder = Path(tmp) / name
            run_variant(stage, stage_args(folder, name), name, overrides, params, args, folder)


def main() -> None:
    parser = variant_parser(__doc__, "trained hypernetwork")
    parser.add_argument("--model", default="storage/models/base")
    args = parser.parse_args()
    run_variants(args, "hypernet", lambda folder, name: [
        "--model", args.model, "--curve", str(folder / "train.csv"), "--bpb-curve", str(Path(args.out) / f"{name}.csv"),
        "--png", str(folder / "bpb.png")])
    hypernet_variants_png(Path(args.out), Path(args.png))


if __name__ == "__main__":
    main()
