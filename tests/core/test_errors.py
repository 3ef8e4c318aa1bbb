"""Every user-fixable error is a TokshiftError, and the CLI turns it into one line (stages: tests/test_stage.py)."""

from __future__ import annotations

import ast

from tests.helpers import ROOT
from tokshift.cli import main as cli_main
from tokshift.core.errors import USER_ERRORS, InputError, MissingFileError, TokshiftError


def error_classes() -> list[tuple]:
    """(file, class node) of every exception class tokshift defines."""
    names = []
    for path in (ROOT / "src" / "tokshift").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                names.append((path, node))
    return names


def test_every_error_class_derives_from_the_base():
    for path, node in error_classes():
        bases = {ast.unparse(b) for b in node.bases}
        assert node.name == "TokshiftError" or bases & {"TokshiftError", "InputError", "MissingFileError"}, \
            f"{path.name}: {node.name} must derive from TokshiftError"


def test_subclasses_keep_their_builtin_meaning():
    assert issubclass(InputError, ValueError) and issubclass(MissingFileError, FileNotFoundError)
    assert TokshiftError in USER_ERRORS


def test_the_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    assert cli_main(["sql", "--stats", str(tmp_path), "SELECT 1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tokshift sql: ") and "no token statistics" in err and err.count("\n") == 1
