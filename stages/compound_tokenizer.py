"""Stage `compound_tokenizer@<name>`: a CompoundPiece tokenizer (params.yaml: compound_tokenizers.<name>).

Trained like `tokenizers@<name>` on the same split, with every word first cut by the decompounder.
"""

from pathlib import Path

from tokshift.compounds.tokenizer import train_compound_tokenizer
from tokshift.core.atomic import write_json
from tokshift.core.params import ParamsError, from_dict, read_yaml
from tokshift.stage import run_stage, stage_parser
from tokshift.tokenization.training import TokenizerConfig


def main(args) -> None:
    section = read_yaml(args.params).get("compound_tokenizers") or {}
    if args.name not in section:
        raise ParamsError(f"{args.params}: compound_tokenizers.{args.name} is missing; add it or fix the stage name")
    cfg = from_dict(TokenizerConfig, section[args.name], f"{Path(args.params).name}: compound_tokenizers.{args.name}")
    write_json(args.metrics, train_compound_tokenizer(Path(args.corpus), cfg, Path(args.decompounder), Path(args.out)))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("name", help="tokenizer name (a key of params.yaml: compound_tokenizers)")
    parser.add_argument("--corpus", required=True, help="corpus Parquet file")
    parser.add_argument("--decompounder", required=True, help="decompounder folder (stage decompounder)")
    parser.add_argument("--out", required=True, help="tokenizer folder to write")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    run_stage(main, parser)
