"""What every `stages/*.py` script shares: argument parsing, logging, and one clear line on bad input.

A stage that fails on bad input (params, source files, empty corpus) exits 1 with a message that
names the file/field; the traceback is kept for real bugs only.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from tokshift.core.errors import USER_ERRORS


def run_stage(main: Callable[[argparse.Namespace], None], parser: argparse.ArgumentParser) -> None:
    """Parse args, run `main(args)`, and turn a bad-input error into one line on stderr and exit 1."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parser.parse_args()
    try:
        main(args)
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)


def stage_parser(description: str) -> argparse.ArgumentParser:
    """Parser with the `--params` option every stage has (paths come from dvc.yaml)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml", help="params file (default params.yaml)")
    return parser
