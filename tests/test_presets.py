"""Presets are files of params overrides, checked against params.yaml, run as one DVC experiment."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from tests.helpers import ROOT
from tokshift.cli import main as cli_main
from tokshift.core.errors import MissingFileError
from tokshift.core.params import ParamsError
from tokshift.presets import overrides, preset_path

SHIPPED = sorted(p.stem for p in (ROOT / "presets").glob("*.yaml"))


def test_the_gpu_and_1m_presets_ship():
    assert {"gpu", "vocab-1m"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_preset_is_valid(name):
    args = overrides(preset_path(name, ROOT), ROOT / "params.yaml")
    assert args and args[::2] == ["-S"] * (len(args) // 2)


def test_values_are_written_in_dvcs_override_grammar():
    args = overrides(preset_path("vocab-1m", ROOT), ROOT / "params.yaml")
    assert 'vocab_index.index.kind="IVF4096,SQfp16"' in args, "a comma inside a string must not become a sweep"
    assert "vocab_index.size=1000000" in args


def test_unknown_key_and_bad_value_name_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("hypernet: {stepz: 10}\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"bad\.yaml\.hypernet\.stepz: not a key of params\.yaml"):
        overrides(bad, ROOT / "params.yaml")
    bad.write_text("hypernet: {lr: {peak: 1}}\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"hypernet\.lr: expected float"):
        overrides(bad, ROOT / "params.yaml")
    bad.write_text("hypernet: {lr: -1.0}\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"hypernet\.lr must be > 0"):
        overrides(bad, ROOT / "params.yaml")
    with pytest.raises(MissingFileError, match="known presets"):
        preset_path("nope", ROOT)


def test_dry_run_prints_the_command(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert cli_main(["preset", "gpu", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("dvc exp run -S hypernet.steps=20000")


def test_the_gemma3_pipeline_preset_runs_its_own_dvc_yaml(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert cli_main(["preset", "gemma3", "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == "dvc repro presets/gemma3/dvc.yaml"
    params = yaml.safe_load((ROOT / "presets" / "gemma3" / "params.yaml").read_text(encoding="utf-8"))
    assert params["base_model"]["name_or_path"] == "embedded:gemma-3-270m"
    assert "Gemma Terms of Use" in (ROOT / "presets" / "gemma3" / "params.yaml").read_text(encoding="utf-8")
    stages = yaml.safe_load((ROOT / "presets" / "gemma3" / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    outs = [o for s in stages.values() for o in s.get("do", s).get("outs", [])]
    assert outs and all(str(o).startswith("storage/gemma3/") or str(o).startswith("plots/gemma3/")
                        or (isinstance(o, dict) and next(iter(o)).startswith("plots/gemma3/")) for o in outs), \
        "a preset pipeline writes beside the default run's outputs, never over them"


def test_a_pipeline_presets_params_are_checked_before_it_runs(tmp_path):
    from tokshift.presets import command

    (tmp_path / "presets" / "p").mkdir(parents=True)
    (tmp_path / "presets" / "p" / "dvc.yaml").write_text("stages: {}\n", encoding="utf-8")
    params = tmp_path / "presets" / "p" / "params.yaml"
    params.write_text("tokenizers: {x: {model: bpe, vocab_size: 10, langs: [de]}}\n", encoding="utf-8")
    with pytest.raises(ParamsError, match=r"tokenizers\.x.*vocab_size must be >= 259"):
        command(preset_path("p", tmp_path))
    params.write_text("hypernett: {steps: 1}\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="section 'hypernett' is read by no stage"):
        command(preset_path("p", tmp_path))
    params.write_text("model_report: {prompts: 3}\n", encoding="utf-8")
    assert command(preset_path("p", tmp_path)) == ["dvc", "repro", str(tmp_path / "presets" / "p" / "dvc.yaml")]


@pytest.mark.slow
def test_dvc_applies_the_overrides_as_typed_values(tmp_path):
    """A real `dvc exp run` in a scratch repo: the preset's values land in params.yaml with their types."""
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    stage = "stages:\n  noop:\n    cmd: 'true'\n    params: [vocab_index]\n"
    (tmp_path / "dvc.yaml").write_text(stage, encoding="utf-8")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "DVC_NO_ANALYTICS": "1"}
    dvc = [sys.executable, "-m", "dvc"]
    for cmd in (["git", "init", "-q"], [*dvc, "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "x"]):
        subprocess.run(cmd, cwd=tmp_path, check=True, env=env, capture_output=True)
    args = overrides(preset_path("vocab-1m", ROOT), tmp_path / "params.yaml")
    subprocess.run([*dvc, "exp", "run", "--temp", *args], cwd=tmp_path, check=True, env=env, capture_output=True)
    out = subprocess.run([*dvc, "exp", "show", "--json"], cwd=tmp_path, check=True, env=env,
                         capture_output=True, text=True).stdout
    assert '"IVF4096,SQfp16"' in out and "1000000" in out
    assert yaml.safe_load((tmp_path / "params.yaml").read_text())["vocab_index"]["size"] == 100000, \
        "--temp leaves the workspace's params alone"
