"""The README's commands are the ones CI runs, its transfer examples work, and the documented SQL runs."""

from __future__ import annotations

import json
import re
import shlex

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.helpers import ROOT, hyper_for
from tokshift.cli import main as cli_main
from tokshift.hypernet.folder import base_fingerprint, save_hypernet
from tokshift.model.base import load_model
from tokshift.stats.sql import connect

README = (ROOT / "README.md").read_text(encoding="utf-8")
STATISTICS = (ROOT / "docs" / "statistics.md").read_text(encoding="utf-8")


def code_blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def local_paths(text: str, tiny_models, tokenizers_dir, tmp_path) -> str:
    """The README's pipeline paths replaced by the test fixtures' (a tiny model and a 400-token tokenizer)."""
    return (text.replace("storage/models/base", str(tiny_models["llama-tied"]))
            .replace("storage/tokenizers/de-bpe-16k", str(tokenizers_dir / "ja-unigram-400"))
            .replace("storage/hypernet", str(tmp_path / "hypernet"))
            .replace("transfers/", f"{tmp_path}/transfers/").replace("models/", f"{tmp_path}/models/"))


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    commands = [line.split("#")[0].strip() for line in code_blocks(README, "bash")[0].strip().splitlines()]
    assert commands == ["make pipeline", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    targets = re.findall(r"^(\w+):", (ROOT / "Makefile").read_text(), re.M)
    assert {"pipeline", "test"} <= set(targets)


def test_the_one_line_transfer_writes_a_stock_model(tiny_models, tokenizers_dir, tmp_path):
    line = code_blocks(README, "bash")[1].strip()
    assert line.startswith("tokshift transfer ") and "\n" not in line
    model, _ = load_model(str(tiny_models["llama-tied"]))
    (tmp_path / "hypernet").mkdir()
    save_hypernet(hyper_for(model), tmp_path / "hypernet", base_fingerprint(model))
    args = shlex.split(local_paths(line, tiny_models, tokenizers_dir, tmp_path))[1:]
    assert cli_main(args) == 0
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "models" / "smollm2-de").config.vocab_size == 400


def test_the_python_example_runs(tiny_models, tokenizers_dir, tmp_path):
    code = local_paths(code_blocks(README, "python")[0], tiny_models, tokenizers_dir, tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert isinstance(scope["tokenizer"], type(AutoTokenizer.from_pretrained(tokenizers_dir / "ja-unigram-400")))
    assert scope["model"].get_input_embeddings().weight.shape[0] == len(scope["tokenizer"]) == 400


# Queries over the pipeline statistics (the --warehouse one needs a published run: see tests/flows).
SQL_EXAMPLES = [shlex.split(m)[2:] for m in re.findall(r"^\$ (tokshift sql \".*)$", STATISTICS, re.M)]


def test_the_statistics_page_has_three_sql_examples():
    assert len(SQL_EXAMPLES) >= 3


@pytest.mark.parametrize("args", SQL_EXAMPLES, ids=[a[-1][:40] for a in SQL_EXAMPLES])
def test_documented_sql_examples_run(stats, args, capsys):
    out, _, _ = stats
    # The test statistics hold tokenizers of the test fixtures, not the pipeline's.
    query = args[0].replace("multi-bpe-32k", "de-bpe-400")
    assert cli_main(["sql", "--stats", str(out), "--format", "json", query, *args[1:]]) == 0
    printed = capsys.readouterr().out.splitlines()
    rows = connect(out).sql(query).to_arrow_table().to_pylist()
    direct = [json.dumps(row, default=str, ensure_ascii=False) for row in rows]
    # Rows tied under ORDER BY may come in either order, so compare them as a multiset.
    assert printed and sorted(printed) == sorted(direct), "the command prints the query's rows"
