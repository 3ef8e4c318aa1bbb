"""Stage `corpus`: gather, filter, deduplicate, cap and split documents (params.yaml: corpus)."""

from tokshift.core.atomic import write_json
from tokshift.core.params import load_section
from tokshift.data.corpus import CorpusConfig, build_corpus
from tokshift.stage import run_stage, stage_parser


def main(args) -> None:
    cfg = load_section(args.params, "corpus", CorpusConfig)
    write_json(args.metrics, build_corpus(cfg, args.out))


if __name__ == "__main__":
    parser = stage_parser(__doc__)
    parser.add_argument("--out", required=True, help="corpus Parquet file to write")
    parser.add_argument("--metrics", required=True, help="metrics JSON to write")
    run_stage(main, parser)
