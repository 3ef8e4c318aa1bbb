"""Stage scripts: bad input stops with one line naming the file/field; a failed run keeps good outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from tokshift.core.atomic import atomic_dir


def run_stage(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "stages" / script), *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def write_params(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("section, message", [
    ({"sources": [{"kind": "gopher", "lang": "de"}]},
     "corpus.sources[0].kind must be one of ['debian', 'python_stdlib', 'hf', 'files'], got 'gopher'"),
    ({"sources": [{"kind": "files", "lang": "klingon", "path": "x"}]}, "unknown language 'klingon'"),
    ({"sources": [{"kind": "python_stdlib", "lang": "code"}], "max_bytes_per_lang": "lots"},
     "corpus.max_bytes_per_lang: expected int, got 'lots'"),
])
def test_corpus_stage_bad_params(tmp_path, section, message):
    params = write_params(tmp_path / "params.yaml", {"corpus": section})
    proc = run_stage("corpus.py", "--params", str(params), "--out", "c.parquet", "--metrics", "m.json", cwd=tmp_path)
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: params.yaml: corpus.") and message in line
    assert not (tmp_path / "c.parquet").exists()


def test_tokenizer_stage_bad_vocab_keeps_previous_output(tmp_path, corpus_file, tokenizers_dir):
    out = tmp_path / "de"
    subprocess.run(["cp", "-r", str(tokenizers_dir / "de-bpe-400"), str(out)], check=True)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    params = write_params(tmp_path / "params.yaml",
                          {"tokenizers": {"de": {"model": "bpe", "vocab_size": -1, "langs": ["de"]}}})
    proc = run_stage("train_tokenizer.py", "de", "--params", str(params), "--corpus", str(corpus_file),
                     "--out", str(out), "--metrics", "m.json", cwd=tmp_path)
    assert proc.returncode == 1
    assert "tokenizers.de.vocab_size must be > 0, got -1" in proc.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_stats_stage_corrupt_tokenizer(tmp_path, corpus_file, tokenizers_dir):
    toks = tmp_path / "toks"
    subprocess.run(["cp", "-r", str(tokenizers_dir), str(toks)], check=True)
    (toks / "de-bpe-400" / "tokenizer.json").write_text("{broken", encoding="utf-8")
    params = write_params(tmp_path / "params.yaml", {"stats": {"tokenizers_dir": str(toks)}})
    proc = run_stage("stats.py", "--params", str(params), "--corpus", str(corpus_file), "--out", "stats",
                     "--metrics", "m.json", cwd=tmp_path)
    assert proc.returncode == 1
    assert "de-bpe-400/tokenizer.json: corrupt tokenizer file" in proc.stderr
    assert not (tmp_path / "stats").exists()


def test_atomic_dir_outputs_get_the_usual_permissions(tmp_path):
    import torch
    from safetensors.torch import save_file

    with atomic_dir(tmp_path / "out") as tmp:
        save_file({"x": torch.zeros(2)}, str(tmp / "w.safetensors"))  # safetensors writes 0600
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out" / "w.safetensors").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o777 & ~mask


def test_atomic_dir_keeps_old_output_on_error(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "good.txt").write_text("good")
    with pytest.raises(RuntimeError), atomic_dir(final) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in final.iterdir()] == ["good.txt"]


def test_killed_writer_never_replaces_output(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "good.txt").write_text("good")
    script = textwrap.dedent(f"""
        import time
        from tokshift.core.atomic import atomic_dir
        with atomic_dir({str(final)!r}) as tmp:
            (tmp / "half.txt").write_text("half")
            print("writing", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert [p.name for p in final.iterdir()] == ["good.txt"]
