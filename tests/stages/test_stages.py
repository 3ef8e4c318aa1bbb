"""Stage scripts turn bad input into one line on stderr and keep their previous outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT


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


def test_a_corpus_that_is_not_parquet_is_one_line(tmp_path):
    corpus = tmp_path / "corpus.parquet"
    corpus.write_text("id,text\n1,hello\n", encoding="utf-8")
    params = write_params(tmp_path / "params.yaml", {"stats": {"tokenizers_dir": str(tmp_path / "none"),
                                                              "extra_tokenizers": {}}})
    proc = run_stage("stats.py", "--params", str(params), "--corpus", str(corpus), "--out",
                     str(tmp_path / "stats"), "--metrics", str(tmp_path / "m.json"), cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"{corpus}: not a corpus Parquet file" in proc.stderr and "dvc repro corpus" in proc.stderr


def test_compound_data_on_a_language_without_hyphenated_words_is_one_line_and_writes_nothing(tmp_path, corpus_file):
    params = write_params(tmp_path / "params.yaml", {"compound_data": {"lang": "ja", "lexicon": ""}})
    proc = run_stage("compound_data.py", "--params", str(params), "--corpus", str(corpus_file), "--out", "data",
                     "--metrics", "m.json", cwd=tmp_path)
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: corpus language 'ja': 0 distinct hyphenated words") and "min_compounds" in line
    assert not (tmp_path / "data").exists()


def test_decompounder_without_its_data_names_the_stage_to_run(tmp_path):
    params = write_params(tmp_path / "params.yaml", {"decompounder": {}})
    proc = run_stage("decompounder.py", "--params", str(params), "--data", "nothing", "--out", "dec",
                     "--metrics", "m.json", "--curve", "c.csv", cwd=tmp_path)
    assert proc.returncode == 1
    assert "nothing/pairs.parquet: not found; run `dvc repro compound_data` first" in proc.stderr
