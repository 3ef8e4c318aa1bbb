"""The README's commands are the ones CI runs, and its SQL examples work."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from tests.helpers import ROOT
from tokshift.cli import main as cli_main
from tokshift.stats.sql import connect

README = (ROOT / "README.md").read_text(encoding="utf-8")


# Queries over the pipeline statistics (the --warehouse one needs a published run: see test_flow).
SQL_EXAMPLES = [shlex.split(m)[2:] for m in re.findall(r"^\$ (tokshift sql \".*)$", README, re.M)]


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make pipeline", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    targets = re.findall(r"^(\w+):", (ROOT / "Makefile").read_text(), re.M)
    assert {"pipeline", "test"} <= set(targets)


def test_readme_has_three_sql_examples():
    assert len(SQL_EXAMPLES) >= 3


@pytest.mark.parametrize("args", SQL_EXAMPLES, ids=[a[-1][:40] for a in SQL_EXAMPLES])
def test_readme_sql_examples_run(stats, args, capsys):
    out, _, _ = stats
    # The test statistics hold tokenizers of the test fixtures, not the pipeline's.
    query = args[0].replace("multi-bpe-32k", "de-bpe-400")
    assert cli_main(["sql", "--stats", str(out), "--format", "json", query, *args[1:]]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    direct = connect(out).sql(query).to_arrow_table().to_pylist()
    assert printed and printed == json.loads(json.dumps(direct, default=str)), "the command prints the query's rows"
