"""The `tokshift` command line: `tokshift sql "SELECT ..."` over token statistics.

Pipeline stages run through `dvc repro` (see `stages/`); this entry point holds the commands a
user types on their outputs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

import duckdb
import pyarrow.csv as pacsv

from tokshift import sql


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tokshift", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("sql", help="query token statistics with DuckDB (views: " + ", ".join(
        ["doc_stats", "token_freq", *sql.DERIVED_VIEWS, "runs (with --warehouse)"]) + ")")
    q.add_argument("query", help='SQL, e.g. "SELECT * FROM fertility ORDER BY lang"')
    q.add_argument("--stats", default=None, help="statistics folder (default storage/stats, or "
                                                 "storage/warehouse with --warehouse)")
    q.add_argument("--warehouse", action="store_true", help="query every published run (adds run_id, runs)")
    q.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")
    q.add_argument("--max-rows", type=int, default=100, help="rows shown in table format")
    return parser


def run_sql(args: argparse.Namespace) -> None:
    root = args.stats or ("storage/warehouse" if args.warehouse else "storage/stats")
    con = sql.connect(root, warehouse=args.warehouse)
    rel = con.sql(args.query)
    if rel is None:
        return
    if args.format == "table":
        rel.show(max_rows=args.max_rows, max_width=200)
    elif args.format == "csv":
        pacsv.write_csv(rel.to_arrow_table(), sys.stdout.buffer)
    else:
        for row in rel.to_arrow_table().to_pylist():
            print(json.dumps(row, default=str, ensure_ascii=False))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "sql":
            run_sql(args)
    except (FileNotFoundError, duckdb.Error) as err:
        print(f"tokshift {args.command}: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
