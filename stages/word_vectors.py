"""Stage `word_vectors`: fastText word vectors for the source language and each target language, trained on the
corpus, and each target language aligned to the source with its FreeDict dictionary (params.yaml: wechsel)."""

from tokshift.core.atomic import write_json
from tokshift.core.params import load_section
from tokshift.heuristics.spaces import WechselConfig, build_spaces
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "wechsel", WechselConfig)
    write_json(args.metrics, build_spaces(args.corpus, args.raw, args.out, cfg))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--corpus", required=True, help="corpus Parquet file (train split: the word vectors' text)")
    parser.add_argument("--raw", default="storage/raw", help="download folder for the dictionary packages")
    parser.add_argument("--out", required=True, help="folder to write (<lang>.bin, <lang>.alignment.safetensors)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    run_stage(main, parser)
