"""Stage `tokenizers@<name>`: train one target tokenizer (params.yaml: tokenizers.<name>).

Not named tokenizers.py: the script folder is first on sys.path and would shadow the library.
"""

from pathlib import Path

from tokshift.core.atomic import write_json
from tokshift.core.params import ParamsError, from_dict, read_yaml
from tokshift.stage import run_stage, stage_parser
from tokshift.tokenization.training import TokenizerConfig, train_tokenizer


def main(args) -> None:
    section = read_yaml(args.params).get("tokenizers") or {}
    if args.name not in section:
        raise ParamsError(f"{args.params}: tokenizers.{args.name} is missing; add it or fix the stage name")
    cfg = from_dict(TokenizerConfig, section[args.name], f"{Path(args.params).name}: tokenizers.{args.name}")
    write_json(args.metrics, train_tokenizer(Path(args.corpus), cfg, Path(args.out)))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("name", help="tokenizer name (a key of params.yaml: tokenizers)")
    parser.add_argument("--corpus", required=True, help="corpus Parquet file")
    parser.add_argument("--out", required=True, help="tokenizer folder to write")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    run_stage(main, parser)
