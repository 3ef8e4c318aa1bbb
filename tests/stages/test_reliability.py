"""The reliability matrix (docs/reliability.md), row by row, on a tiny copy of the real pipeline.

A stage killed at a chosen point (SIGKILL: nothing of it runs afterwards) leaves no output in place,
and the next `dvc repro` redoes or resumes it to the very bytes of an uninterrupted run; two `dvc repro`
in one workspace refuse each other; a full disk keeps the previous output.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.flows.test_pipeline import make_project
from tests.helpers import ROOT

pytestmark = pytest.mark.slow

# stage -> (function killed on its N-th call, N, outputs whose bytes must equal the uninterrupted run's)
KILLS = {
    "corpus": ("pyarrow.parquet:write_table", 1, ["storage/corpus/corpus.parquet", "metrics/corpus.json"]),
    "stats": ("pyarrow.dataset:write_dataset", 2, ["storage/stats", "metrics/stats.json"]),
    "hypernet": ("tokshift.hypernet.loop:Trainer.lm_step", 4, ["storage/hypernet"]),
    "vocab_index": ("tokshift.large_vocab.folder:save_file", 2,
                    ["storage/vocab_index/emb", "storage/vocab_index/tokens.json", "storage/vocab_index/index.faiss",
                     "storage/vocab_index/vocab.json"]),
    "evaluate": ("tokshift.evaluation.evaluate:score_texts", 2, ["metrics/evaluate.json", "plots/evaluate.csv"]),
}


def digest(path: Path) -> dict[str, str]:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {str(p.relative_to(path.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def dvc(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["dvc", *args], cwd=root, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0 or not check, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc


def stage_outputs(root: Path, stage: str) -> list[str]:
    spec = yaml.safe_load((root / "dvc.yaml").read_text())["stages"][stage]
    return [next(iter(o)) if isinstance(o, dict) else o for key in ("outs", "metrics", "plots")
            for o in spec.get(key, [])]


def leftovers(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for d in ("storage", "metrics", "plots") for p in (root / d).rglob(".*tmp-*")]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, tiny_models, tiny_e5):
    """The tiny pipeline, reproduced once: (project root, digests of every stage's checked outputs)."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("reliability") / "project"
    mp.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    mp.setenv("PYTHONPATH", str(root / "src"))
    make_project(root, tiny_models["llama-tied"], tiny_e5["folder"])
    dvc(root, "repro")
    reference = {stage: {k: v for out in outs for k, v in digest(root / out).items()}
                 for stage, (_, _, outs) in KILLS.items()}
    yield root, reference
    mp.undo()


@pytest.mark.parametrize("stage", list(KILLS))
def test_a_killed_stage_leaves_nothing_and_the_next_repro_restores_it_exactly(pipeline, stage):
    root, reference = pipeline
    target, n, checked = KILLS[stage]
    outs = stage_outputs(root, stage)
    for out in outs:  # a run from scratch
        path = root / out
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    if stage in ("hypernet", "vocab_index"):  # and its resume state, to be rebuilt up to the kill
        shutil.rmtree(root / "storage" / "checkpoints" / stage)
    cmd = shlex.split(yaml.safe_load((root / "dvc.yaml").read_text())["stages"][stage]["cmd"])
    assert cmd[0] == "python"
    killed = subprocess.run([sys.executable, str(ROOT / "tests" / "kill_at.py"), target, str(n), *cmd[1:]], cwd=root,
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not [out for out in outs if (root / out).exists()], "no output (whole or partial) is in place"
    if stage == "hypernet":  # a checkpoint was written before the kill: the rerun resumes from it
        assert any((root / "storage" / "checkpoints" / "hypernet").rglob("step-000002"))
    if stage == "vocab_index":  # one embedding shard was finished before the kill: the rerun resumes from it
        assert len(list((root / "storage" / "checkpoints" / "vocab_index").rglob("emb-*.safetensors"))) == 1

    # -f: these inputs did complete once (the fixture), so a plain repro would check that run's outputs out
    log = dvc(root, "repro", "-f", "-s", stage).stdout
    assert f"Running stage '{stage}'" in log
    assert {k: v for out in checked for k, v in digest(root / out).items()} == reference[stage]
    assert leftovers(root) == [], "the rerun removed what the killed run left in temp siblings"
    assert "up to date" in dvc(root, "status").stdout


def test_two_repros_in_one_workspace_refuse_each_other(pipeline):
    root, reference = pipeline
    first = subprocess.Popen(["dvc", "repro", "-f", "-s", "evaluate"], cwd=root, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        assert "Running stage 'evaluate'" in first.stdout.readline() + first.stdout.readline()
        second = dvc(root, "repro", check=False)
        assert second.returncode != 0
        # DVC holds the repo lock while it plans and a read/write lock on the paths while the stage runs
        refused = ("is busy, it is being blocked by", "Unable to acquire lock")
        assert any(r in second.stderr for r in refused), second.stderr[-1000:]
    finally:
        first.communicate(timeout=600)
    assert first.returncode == 0
    checked = {k: v for out in KILLS["evaluate"][2] for k, v in digest(root / out).items()}
    assert checked == reference["evaluate"], "the refused run changed nothing"
    assert "up to date" in dvc(root, "status").stdout


def test_a_full_disk_keeps_the_previous_output(pipeline, tmp_path):
    """The corpus stage rewrites its Parquet on a tmpfs with room for the old file only."""
    root, reference = pipeline
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("needs util-linux's unshare and mount (a private tmpfs without root)")
    out = tmp_path / "full"
    out.mkdir()
    old = root / "storage" / "corpus" / "corpus.parquet"
    kib = old.stat().st_size // 1024 + 16  # the old file fits; a second copy beside it does not
    cmd = shlex.split(yaml.safe_load((root / "dvc.yaml").read_text())["stages"]["corpus"]["cmd"])
    cmd = [sys.executable, *cmd[1:]]
    script = (f"mount -t tmpfs -o size={kib}k tmpfs {out} && cp {old} {out}/corpus.parquet && "
              f"{shlex.join([c.replace('storage/corpus/corpus.parquet', str(out / 'corpus.parquet')) for c in cmd])}"
              f" --metrics {tmp_path}/m.json; echo rc=$?; sha256sum {out}/corpus.parquet; ls -A {out}")
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=root, capture_output=True, text=True,
                          timeout=600)
    if "mount" in proc.stderr and "rc=" not in proc.stdout:
        pytest.skip(f"this machine does not allow a private tmpfs: {proc.stderr.strip()[:200]}")
    lines = proc.stdout.split()
    assert "rc=1" in lines, proc.stdout + proc.stderr[-2000:]
    [error] = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert "no space left on the device" in error and "previous outputs are kept" in error
    assert hashlib.sha256(old.read_bytes()).hexdigest() in lines, "the old corpus survived byte for byte"
    assert lines[-1] == "corpus.parquet", "and nothing else is left on the full disk"
    del reference



# (file made corrupt, how, stage that reads it, what the one line says)
CORRUPT = [
    ("storage/corpus/corpus.parquet", "truncate", "stats", "not a corpus Parquet file"),
    ("storage/tokenizers/de-bpe-300/tokenizer.json", "garbage", "stats", "corrupt tokenizer file"),
    ("storage/hypernet/hypernet.safetensors", "truncate", "dynamic_eval", "not a readable safetensors file"),
    ("storage/transfer/de-bpe-300/fvt/embeddings.safetensors", "truncate", "evaluate",
     "not a readable safetensors file"),
    ("storage/models/base/model.safetensors", "truncate", "evaluate", "model.safetensors"),
]


@pytest.mark.parametrize("rel, how, stage, message", CORRUPT, ids=[c[0].split("/", 1)[1] for c in CORRUPT])
def test_a_corrupt_input_is_one_line_naming_the_file_and_outputs_stay(pipeline, rel, how, stage, message):
    root, _ = pipeline
    path = root / rel
    good = path.read_bytes()
    outs = {k: v for out in stage_outputs(root, stage) if (root / out).exists() for k, v in digest(root / out).items()}
    try:
        path.write_bytes(good[: len(good) // 2] if how == "truncate" else b'{"version": "1.0",\n')
        cmd = shlex.split(yaml.safe_load((root / "dvc.yaml").read_text())["stages"][stage]["cmd"])
        proc = subprocess.run([sys.executable, *cmd[1:]], cwd=root, capture_output=True, text=True, timeout=600)
    finally:
        path.write_bytes(good)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 1 and len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert rel.split("/")[-1] in errors[0] and message in errors[0]
    after = {k: v for out in stage_outputs(root, stage) if (root / out).exists() for k, v in digest(root / out).items()}
    assert after == outs, "the previous outputs are untouched"
