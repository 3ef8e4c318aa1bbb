"""What every stage script shares: bad input is one line on stderr and exit 1; a bug keeps its traceback."""

from __future__ import annotations

import argparse

import pytest

from tokshift.core.errors import InputError, MissingFileError
from tokshift.stage import run_stage, stage_parser


@pytest.mark.parametrize("error", [InputError("params.yaml: x must be > 0"), MissingFileError("a/b: not there")])
def test_bad_input_is_one_line_and_exit_1(error, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["stage"])

    def main(args):
        raise error

    with pytest.raises(SystemExit) as exit_:
        run_stage(main, argparse.ArgumentParser())
    assert exit_.value.code == 1 and capsys.readouterr().err == f"error: {error}\n"


def test_a_bug_keeps_its_traceback(monkeypatch):
    monkeypatch.setattr("sys.argv", ["stage"])

    def main(args):
        raise KeyError("a bug, not bad input")

    with pytest.raises(KeyError):
        run_stage(main, argparse.ArgumentParser())


def test_every_stage_takes_a_params_file():
    assert stage_parser("x").parse_args([]).params == "params.yaml"
