"""The `tokshift` command line: `sql`, `transfer`, `export`, `evaluate`, `generate`, `adapt`, `mixture`, `preset`.

Pipeline stages run through `dvc repro` (see `stages/`); this entry point holds the commands a
user types on their outputs or any model, and `preset` runs the pipeline as a DVC experiment.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import pyarrow.csv as pacsv

from tokshift.core.atomic import write_json
from tokshift.core.errors import USER_ERRORS, InputError
from tokshift.stats import sql

DEVICE_HELP = "auto (CUDA when there is a GPU, else CPU), cpu, cuda or cuda:N"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tokshift", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("sql", help="query token statistics with DuckDB (views: " + ", ".join(
        ["doc_stats", "token_freq", *sql.DERIVED_VIEWS, "runs (with --warehouse)", *sql.MIXTURE_VIEWS, "samples",
         "chunk_scores", *sql.COMPOUND_VIEWS]) + ")")
    q.add_argument("query", help='SQL, e.g. "SELECT * FROM fertility ORDER BY lang"')
    q.add_argument("--stats", default=None, help="statistics folder (default storage/stats, or "
                                                 "storage/warehouse with --warehouse)")
    q.add_argument("--warehouse", action="store_true", help="query every published run (adds run_id, runs)")
    q.add_argument("--samples", default="storage/samples/samples.parquet", help="evaluation sample (view samples)")
    q.add_argument("--scores", default="storage/evaluate/chunks.parquet", help="evaluate's per-chunk scores "
                                                                               "(view chunk_scores)")
    q.add_argument("--mixture", default="storage/mixture", help="folder of the mixture stages' Parquet files "
                                                                "(views mixture, mixture_validation)")
    q.add_argument("--compounds", nargs=2, default=list(sql.COMPOUND_VIEWS.values()), metavar=("SPLITS", "PREDICTIONS"),
                   help="compound_eval's per-word pieces and the decompounder's test predictions (views "
                        "compound_splits, decompositions)")
    q.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")
    q.add_argument("--max-rows", type=int, default=100, help="rows shown in table format")
    q.add_argument("--unrestricted", action="store_true",
                   help="also run statements other than SELECT/EXPLAIN and read or write any file (off by default)")
    t = sub.add_parser("transfer", help="new embeddings for a target tokenizer (a transfer folder)")
    t.add_argument("--model", required=True, help="base model folder (or hub id)")
    t.add_argument("--tokenizer", required=True, help="target tokenizer folder")
    t.add_argument("--method", required=True, help="fvt, focus, mean, random, hypernet or wechsel")
    t.add_argument("--hypernet", default=None, help="trained hypernetwork folder (method hypernet), "
                                                   "e.g. storage/hypernet")
    t.add_argument("--corpus", default=None, help="corpus Parquet file whose train split of the tokenizer's "
                                                 "languages trains FOCUS's fastText (method focus)")
    t.add_argument("--word-vectors", default=None, help="aligned word vectors (wechsel): storage/word_vectors")
    t.add_argument("--neighbours", type=int, default=3, help="source tokens mixed per target token (wechsel)")
    t.add_argument("--temperature", type=float, default=0.1, help="softmax temperature over similarities (wechsel)")
    t.add_argument("--source-lang", default="en", help="the base model's language in the word vectors (wechsel)")
    t.add_argument("--out", required=True, help="transfer folder to write (see --export)")
    t.add_argument("--export", default=None, help="also write a full model folder here")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="where the hypernetwork runs: " + DEVICE_HELP)
    e = sub.add_parser("export", help="turn a transfer folder into a stock Hugging Face model folder")
    e.add_argument("transfer_dir", help="e.g. storage/transfer/de-bpe-16k/fvt")
    e.add_argument("--out", required=True, help="model folder to write")
    e.add_argument("--model", default=None, help="base model folder (default: the one in transfer.json)")
    e.add_argument("--bf16", action="store_true", help="save weights in bfloat16 (half the disk)")
    e.add_argument("--no-chat-template", action="store_true",
                   help="leave the base model's chat template out (needed when the target lacks its tokens)")
    e.add_argument("--metrics", default="metrics/evaluate.json",
                   help="evaluation metrics whose entry for this model goes into the model card (if present)")
    g = sub.add_parser("generate", help="generate with a large vocabulary through its FAISS index, or byte by byte")
    g.add_argument("prompt", help="text to continue")
    g.add_argument("--model", default="storage/models/base", help="model folder (base model for --vocab-index)")
    g.add_argument("--vocab-index", default="storage/vocab_index", help="vocab_index stage output folder")
    g.add_argument("--byte-level", action="store_true", help="continue byte by byte from exact next-byte "
                                                             "probabilities (prompts may end inside a token); "
                                                             "prints the token-level greedy continuation to stderr")
    g.add_argument("--max-new-bytes", type=int, default=64, help="bytes generated with --byte-level")
    g.add_argument("--max-new-tokens", type=int, default=32)
    g.add_argument("--k", type=int, default=20, help="candidates taken from the index per step")
    g.add_argument("--temperature", type=float, default=0.0, help="0: greedy among the candidates")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="auto", help="where the model runs: " + DEVICE_HELP)
    v = sub.add_parser("evaluate", help="bits per byte of causal LMs on UTF-8 text files")
    v.add_argument("--model", action="append", required=True, help="model folder (repeat for several)")
    v.add_argument("--text", action="append", required=True, help="UTF-8 text file (repeat for several)")
    v.add_argument("--json", default=None, help="also write the rows as JSON here")
    v.add_argument("--byte-level", action="store_true", help="exact byte-level bpb (covers of the text's last "
                                                             "pretoken summed); token-level bpb of the same run too")
    v.add_argument("--chunk-bytes", type=int, default=1000,
                   help="texts are scored in paragraph-aligned chunks of about this size (the 95%% intervals)")
    v.add_argument("--window", type=int, default=512)
    v.add_argument("--stride", type=int, default=384)
    v.add_argument("--device", default="auto",
                   help="where the model runs: " + DEVICE_HELP + "; bf16 autocast on CUDA and bf16-native CPUs")
    m = sub.add_parser("mixture", help="infer the training-data mixture of a BPE tokenizer from its merge list")
    m.add_argument("tokenizer_dir", help="tokenizer folder (a tokenizer.json with a BPE merge list)")
    m.add_argument("--categories", nargs="+", default=None, help="corpus languages and code whose train split is "
                                                                 "the sample text (default: all ten)")
    m.add_argument("--corpus", default="storage/corpus/corpus.parquet", help="corpus Parquet file")
    m.add_argument("--merges", type=int, default=1000, help="the first T merges are explained")
    m.add_argument("--sample-bytes", type=int, default=1_000_000, help="sample bytes per category")
    m.add_argument("--json", default=None, help="also write the weights and solver facts as JSON here")
    a = sub.add_parser("adapt", help="continue training a transfer on its own tokenizer (n-shot adaptation)")
    a.add_argument("--transfer", required=True, help="transfer folder to start from")
    a.add_argument("--steps", type=int, required=True, help="optimizer steps")
    a.add_argument("--out", required=True, help="adapted transfer folder to write")
    a.add_argument("--corpus", default="storage/corpus/corpus.parquet", help="corpus whose train split of the "
                                                                           "tokenizer's languages is trained on")
    a.add_argument("--train", default="embeddings", help="embeddings, lora or all")
    a.add_argument("--samples", default=None, help="evaluation sample Parquet (storage/samples/samples.parquet) whose "
                   "valid chunks the curve reads; default: the corpus's first valid documents")
    a.add_argument("--checkpoints", default="storage/checkpoints/adapt", help="resumable checkpoints")
    a.add_argument("--params", default=None, help="params file whose adapt section sets the rest (default: defaults)")
    a.add_argument("--device", default="auto", help="where training runs: " + DEVICE_HELP)
    a.add_argument("--export", default=None, help="also write a full model folder here")
    r = sub.add_parser("preset", help="run the pipeline as a DVC experiment with a preset (presets/<name>.yaml), or a "
                                      "pipeline preset (presets/<name>/dvc.yaml, e.g. gemma3)")
    r.add_argument("name", help="preset name (e.g. gpu, vocab-1m, gemma3) or a YAML file")
    r.add_argument("--params", default="params.yaml", help="params file the preset changes")
    r.add_argument("--dry-run", action="store_true", help="print the dvc command instead of running it")
    return parser


def run_preset(args: argparse.Namespace) -> int:
    import shlex
    import subprocess

    from tokshift.presets import command, preset_path

    cmd = command(preset_path(args.name), args.params)
    print(shlex.join(cmd))
    return 0 if args.dry_run else subprocess.run(cmd, check=False).returncode


def run_transfer(args: argparse.Namespace) -> None:
    from tokshift.heuristics.spaces import WechselConfig
    from tokshift.transfers.export import export
    from tokshift.transfers.methods import focus_texts, transfer

    texts = None
    if args.method == "focus":
        if not args.corpus:
            raise InputError("method focus needs --corpus (its train split trains FOCUS's fastText model)")
        texts = focus_texts(args.corpus, args.tokenizer)
    print(json.dumps(transfer(args.model, args.tokenizer, args.method, args.out, seed=args.seed, train_texts=texts,
                              hypernet_dir=args.hypernet, device=args.device, word_vectors=args.word_vectors,
                              wechsel=WechselConfig(languages=[], source=args.source_lang, neighbours=args.neighbours,
                                                    temperature=args.temperature))))
    if args.export:
        export(args.out, args.export)


def run_adapt(args: argparse.Namespace) -> None:
    from tokshift.adapt.config import AdaptConfig
    from tokshift.adapt.train import adapt_transfer
    from tokshift.core.params import ParamsError, from_dict, load_section
    from tokshift.transfers.export import export

    cfg = load_section(args.params, "adapt", AdaptConfig) if args.params else AdaptConfig()
    try:
        cfg = from_dict(AdaptConfig, {**vars(cfg), "steps": args.steps, "train": args.train,
                                      "device": args.device}, "adapt")
    except ParamsError as err:  # the flags' names, not the params keys
        raise ParamsError(str(err).replace("adapt.", "--", 1)) from None
    run = adapt_transfer(args.transfer, args.corpus, args.out, args.checkpoints, cfg, samples=args.samples)
    print(json.dumps({"steps": run.step, "valid_bpb_start": run.curve[0]["bpb"], "valid_bpb": run.curve[-1]["bpb"],
                      "original_valid_bpb": run.original_bpb, "out": args.out}))
    if args.export:
        export(args.out, args.export)


def run_export(args: argparse.Namespace) -> None:
    import torch

    from tokshift.transfers.export import export
    from tokshift.transfers.folder import read_meta

    meta = read_meta(Path(args.transfer_dir))
    key = f"{Path(meta['target_tokenizer']).name}/{meta['method']}"
    metrics = json.loads(Path(args.metrics).read_text()).get(key) if Path(args.metrics).is_file() else None
    export(args.transfer_dir, args.out, args.model, torch.bfloat16 if args.bf16 else torch.float32, metrics,
           chat_template=not args.no_chat_template)
    print(args.out)


def run_evaluate(args: argparse.Namespace) -> None:
    from tokshift.data.sources import decode_utf8
    from tokshift.evaluation.files import score_files, table

    texts = {}
    for path in args.text:
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: text file not found")
        text = decode_utf8(Path(path).read_bytes(), path)
        if not text.strip():
            raise InputError(f"{path}: the file is empty; give a text file with content to score")
        texts[path] = text
    rows = score_files(args.model, texts, args.chunk_bytes, args.byte_level, args.window, args.stride, args.device)
    print(table(rows, args.byte_level))
    if args.json:
        write_json(args.json, [{k: v for k, v in r.items() if k != "chunk_bits"} for r in rows])


def run_generate(args: argparse.Namespace) -> None:
    from tokshift.core.device import resolve_device
    from tokshift.large_vocab.folder import open_large_vocab
    from tokshift.large_vocab.generate import GenerateConfig, generate
    from tokshift.model.base import load_model
    from tokshift.model.score import bos_id

    model, tok = load_model(args.model, device=resolve_device(args.device, "--device"))
    if args.byte_level:
        from tokshift.bytelevel.bpe import ByteBPE
        from tokshift.bytelevel.generate import generate_bytes, generate_tokens

        out = generate_bytes(model, ByteBPE(tok.backend_tokenizer, args.model), bos_id(tok), args.prompt,
                             args.max_new_bytes, args.temperature, args.seed)
        print(args.prompt + out.text)
        print(f"[byte-level: {len(out.data)} bytes{', stopped at the end of text' if out.stopped else ''}; "
              f"token-level greedy: {generate_tokens(model, tok, bos_id(tok), args.prompt, args.max_new_tokens)!r}]",
              file=sys.stderr)
        return
    vocab, matrix, index = open_large_vocab(args.vocab_index, model, tok.backend_tokenizer)
    stop = {i for i in (tok.eos_token_id,) if i is not None}
    cfg = GenerateConfig(max_new_tokens=args.max_new_tokens, k=args.k, temperature=args.temperature, seed=args.seed)
    out = generate(model, vocab, index, matrix, args.prompt, start_id=bos_id(tok), cfg=cfg, stop_ids=stop)
    print(args.prompt + out.text)
    extra = sum(i >= vocab.base_size for i in out.ids)
    print(f"[{out.steps} tokens from a {len(vocab):,}-token vocabulary ({extra} beyond the base), output layer "
          f"{1000 * out.ann_seconds / max(1, out.steps):.2f} ms/token]", file=sys.stderr)


def run_mixture(args: argparse.Namespace) -> None:
    from tokshift.core.params import from_dict
    from tokshift.mixture.infer import MixtureConfig, infer_all

    spec = {"merges": args.merges, "sample_bytes": args.sample_bytes, "cluster": "none"}
    if args.categories:
        spec["categories"] = args.categories
    cfg = from_dict(MixtureConfig, spec, "tokshift mixture")
    name = Path(args.tokenizer_dir).resolve().name or "tokenizer"
    rows, metrics = infer_all(args.corpus, cfg, {}, tokenizers={name: Path(args.tokenizer_dir)})
    if metrics["skipped"]:
        raise InputError(next(iter(metrics["skipped"].values())))
    [(name, facts)] = metrics["tokenizers"].items()
    print(f"{'category':<10} {'weight':>8} {'tee':>8}")
    for row in sorted(rows, key=lambda r: -r["weight"]):
        print(f"{row['category']:<10} {row['weight']:>8.4f} {row['tee']:>8.4f}")
    print(f"[{facts['merges']} merges, {facts['merges_per_second']:.0f} merges/s counted, "
          f"LP {facts['lp_seconds']:.1f} s in {facts['rounds']} rounds, {facts['constraints']} constraints, "
          f"slack {facts['slack']:.4g}, converged {facts['converged']}]", file=sys.stderr)
    if args.json:
        write_json(args.json, {name: facts})


def run_sql(args: argparse.Namespace) -> None:
    import duckdb

    root = args.stats or ("storage/warehouse" if args.warehouse else "storage/stats")
    con = sql.connect(root, warehouse=args.warehouse, unrestricted=args.unrestricted, mixture=args.mixture,
                      samples=args.samples, scores=args.scores, compounds=args.compounds)
    rel = sql.query(con, args.query, unrestricted=args.unrestricted)
    if rel is None:
        return
    try:  # results are computed lazily: execution errors surface here
        if args.format == "table":
            rel.show(max_rows=args.max_rows, max_width=200)
        elif args.format == "csv":
            pacsv.write_csv(rel.to_arrow_table(), sys.stdout.buffer)
        else:
            for row in rel.to_arrow_table().to_pylist():
                print(json.dumps(row, default=str, ensure_ascii=False))
    except duckdb.Error as err:
        raise sql.QueryError(str(err)) from None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        commands = {"sql": run_sql, "transfer": run_transfer, "export": run_export, "evaluate": run_evaluate,
                    "generate": run_generate, "preset": run_preset, "adapt": run_adapt,
                    "mixture": run_mixture}
        code = commands[args.command](args)
    except USER_ERRORS as err:
        print(f"tokshift {args.command}: {err}", file=sys.stderr)
        return 2
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
