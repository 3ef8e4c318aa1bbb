"""The flow's DVC remote path: push, lose the cache, pull, and `dvc repro` has nothing to do; a broken remote fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "flows"))
from pipeline import dvc_pull, dvc_push  # noqa: E402

IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
            "DVC_NO_ANALYTICS": "1"}
STAGE = "stages:\n  make:\n    cmd: python -c \"open('out.txt', 'w').write('made once')\"\n    outs: [out.txt]\n"


def run(root: Path, *cmd: str) -> str:
    return subprocess.run(cmd, cwd=root, check=True, env={**os.environ, **IDENTITY}, capture_output=True,
                          text=True).stdout


@pytest.fixture()
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    root = tmp_path / "project"
    root.mkdir()
    (root / "dvc.yaml").write_text(STAGE, encoding="utf-8")
    run(root, "git", "init", "-q")
    run(root, "dvc", "init", "-q")
    run(root, "dvc", "remote", "add", "-d", "local", str(tmp_path / "remote"))
    run(root, "dvc", "repro", "-q")
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-qm", "made")
    return root


def test_push_then_pull_into_an_empty_cache_leaves_nothing_to_reproduce(project, tmp_path):
    assert dvc_push.fn(project)
    assert any((tmp_path / "remote").rglob("*")), "the output reached the remote"
    shutil.rmtree(project / ".dvc" / "cache")
    (project / "out.txt").unlink()
    assert dvc_pull.fn(project)
    assert (project / "out.txt").read_text() == "made once"
    assert "up to date" in run(project, "dvc", "status")
    assert "didn't change" in run(project, "dvc", "repro")


def test_a_pull_that_fails_for_another_reason_fails_the_task(project):
    run(project, "dvc", "remote", "modify", "local", "url", "s3://no-such-bucket/tokshift")
    with pytest.raises(RuntimeError, match="dvc pull --allow-missing"):
        dvc_pull.fn(project)


def test_outputs_never_pushed_are_rebuilt_not_an_error(project):
    shutil.rmtree(project / ".dvc" / "cache")
    (project / "out.txt").unlink()
    assert dvc_pull.fn(project), "an empty remote is a partial pull, not a failure"
    assert not (project / "out.txt").exists()
    assert "Running stage 'make'" in run(project, "dvc", "repro")
    assert (project / "out.txt").read_text() == "made once"
