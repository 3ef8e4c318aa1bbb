"""What every `stages/*.py` script shares: argument parsing, logging, and one clear line on bad input.

A stage that fails on bad input (params, source files, empty corpus) or on a full disk exits 1 with a
message that names the file/field; the traceback is kept for real bugs only.
"""

from __future__ import annotations

import argparse
import errno
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
    except OSError as err:
        # pyarrow's IO errors carry no errno, only its text
        if err.errno not in (errno.ENOSPC, errno.EDQUOT) and "No space left on device" not in str(err):
            raise
        # writes go to temp siblings (tokshift.core.atomic), so the previous outputs are still in place
        where = f" writing {err.filename}" if err.filename else ""
        print(f"error: no space left on the device{where}; free space (or move storage/) and rerun: the previous "
              f"outputs are kept", file=sys.stderr)
        sys.exit(1)


def stage_parser(description: str) -> argparse.ArgumentParser:
    """Parser with the `--params` option every stage has (paths come from dvc.yaml)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml", help="params file (default params.yaml)")
    return parser
