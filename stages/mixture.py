"""Stage `mixture`: infer the training-data mixture of every BPE tokenizer of the pipeline and of the base model's
own, from their merge lists (params.yaml: mixture; truth from params.yaml: tokenizers)."""

from pathlib import Path

from tokshift.core.atomic import write_csv, write_json
from tokshift.core.params import from_dict, load_section, read_yaml
from tokshift.mixture.infer import MixtureConfig, infer_all, truth_shares, write_rows
from tokshift.stage import run_stage, stage_parser
from tokshift.tokenization.training import TokenizerConfig


def main(args) -> None:
    cfg = load_section(args.params, "mixture", MixtureConfig)
    params = read_yaml(args.params)
    # CompoundPiece tokenizers read the same split (decompounded), so their truth is computed the same way
    trained = {**(params.get("tokenizers") or {}), **(params.get("compound_tokenizers") or {})}
    # A tokshift-trained tokenizer's true mixture is what its trainer read; Unigram ones are skipped anyway.
    truths = {name: truth_shares(args.corpus, from_dict(TokenizerConfig, spec, f"tokenizers.{name}"))
              for name, spec in trained.items()
              if spec.get("model") == "bpe" and (Path(cfg.tokenizers_dir) / name / "tokenizer.json").exists()}
    rows, metrics = infer_all(args.corpus, cfg, truths)
    write_rows(rows, args.out)
    write_json(args.metrics, metrics)
    plot = [{"bar": f"{r['tokenizer']} {kind}", "category": r["category"], "share": round(r[key], 4)}
            for kind, key in (("inferred", "weight"), ("truth", "truth")) for r in rows if r[key] is not None]
    write_csv(args.plot, plot)


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--corpus", required=True, help="corpus Parquet file (train split: category samples)")
    parser.add_argument("--out", required=True, help="Parquet file to write (tokenizer, category, weight, tee, truth)")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    parser.add_argument("--plot", required=True, help="plot CSV to write (inferred and true shares per tokenizer)")
    run_stage(main, parser)
