"""Valid bpb against seconds for adaptation settings: the adapt stage run once per variant, same seed and transfer.

Each variant is `name=override,override,...` of params.yaml's adapt section (values parsed as YAML, as in
hypernet_objectives.py); every variant starts from the same transfer folder and gets its own fresh checkpoint
folder. Its curve (the stage's CSV: step, tokens, seconds, valid bpb per language and overall, the original's level)
is kept as --out/<name>.csv next to its metrics (--out/<name>.json), and every curve in the folder is drawn to --png.
Example (the figures in docs/adapt.md):

    python bench/adapt_variants.py --transfer storage/transfer/de-bpe-16k/hypernet --out docs/adapt_variants \
        --png docs/adapt_variants.png --variant "embeddings=steps=100" --variant "lora=steps=100,train=lora"
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
from hypernet_objectives import merged, parse_variant

from tokshift.plots import adapt_variants_png

ROOT = Path(__file__).resolve().parent.parent


def run_variant(name: str, overrides: dict, params: dict, args, tmp: Path) -> None:
    folder = tmp / name
    folder.mkdir()
    (folder / "params.yaml").write_text(yaml.safe_dump({"adapt": merged(params["adapt"], overrides)}))
    cmd = [sys.executable, "stages/adapt.py", "--params", str(folder / "params.yaml"), "--transfer", args.transfer,
           "--corpus", args.corpus, "--samples", args.samples, "--out", str(folder / "out"),
           "--checkpoints", str(folder / "ckpt"), "--metrics", str(Path(args.out) / f"{name}.json"),
           "--curve", str(Path(args.out) / f"{name}.csv")]
    print(f"variant {name}: {overrides}", flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    print((Path(args.out) / f"{name}.csv").read_text(encoding="utf-8"), flush=True)
    if args.keep:  # the adapted transfer folder, to evaluate on the test sample afterwards
        shutil.copytree(folder / "out", Path(args.keep) / name, dirs_exist_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--transfer", required=True, help="transfer folder every variant starts from")
    parser.add_argument("--corpus", default="storage/corpus/corpus.parquet")
    parser.add_argument("--samples", default="storage/samples/samples.parquet", help="the stage's valid sample")
    parser.add_argument("--variant", action="append", required=True, help="name=key=value,key=value (repeatable)")
    parser.add_argument("--out", required=True, help="folder of curves and metrics, a CSV and a JSON per variant")
    parser.add_argument("--png", required=True, help="figure of every curve in --out")
    parser.add_argument("--keep", help="folder to keep each variant's adapted transfer in (<keep>/<name>)")
    args = parser.parse_args()
    params = yaml.safe_load(Path(args.params).read_text(encoding="utf-8"))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="adapt-variants-") as tmp:
        for text in args.variant:
            run_variant(*parse_variant(text), params, args, Path(tmp))
    adapt_variants_png(Path(args.out), Path(args.png))


if __name__ == "__main__":
    main()
