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

from pathlib import Path

from hypernet_objectives import run_variants, variant_parser

from tokshift.plots import adapt_variants_png


def main() -> None:
    parser = variant_parser(__doc__, "adapted transfer")
    parser.add_argument("--transfer", required=True, help="transfer folder every variant starts from")
    args = parser.parse_args()
    run_variants(args, "adapt", lambda _folder, name: [
        "--transfer", args.transfer, "--curve", str(Path(args.out) / f"{name}.csv")])
    adapt_variants_png(Path(args.out), Path(args.png))


if __name__ == "__main__":
    main()
