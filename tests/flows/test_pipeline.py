"""The Prefect flow runs a tiny copy of the real pipeline end to end and publishes to the warehouse."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import pyarrow.parquet as pq
import pytest
import yaml

from tests.helpers import ROOT, SYLLABLES, make_text, write_dictd
from tokshift.stats.sql import connect

pytestmark = pytest.mark.slow


def tiny_params(base_model: Path, encoder: Path) -> dict:
    """Every stage of the real pipeline, sized for seconds: files corpus, three tokenizers, a tiny Llama, a tiny
    e5-like encoder and a help task from fake help pages."""
    return {
        "corpus": {"raw_dir": "storage/raw", "valid_fraction": 0.2, "test_fraction": 0.2, "min_doc_chars": 10,
                   "sources": [{"kind": "files", "lang": lang, "path": f"data/{lang}/*.txt"}
                               for lang in [*SYLLABLES, "en"]]},
        "samples": {"langs": ["de", "ru", "ja", "en"], "valid_bytes": 1500, "test_bytes": 4000, "chunk_bytes": 400,
                    "min_chunk_bytes": 60},
        "tokenizers": {"de-bpe-300": {"model": "bpe", "vocab_size": 300, "langs": ["de"]},
                       "ja-unigram-300": {"model": "unigram", "vocab_size": 300, "langs": ["ja"]},
                       "de-sp-150": {"model": "unigram", "vocab_size": 150, "langs": ["de"], "convention": "xlm-r"}},
        "stats": {"splits": ["valid", "test"], "extra_tokenizers": {"original": "storage/models/base"}},
        "mixture": {"categories": list(SYLLABLES), "sample_bytes": 20000, "merges": 50, "cluster": "none",
                    "validation": {"mixtures": 2, "per_mixture": 2, "train_bytes": 10000, "vocab_size": 300}},
        "base_model": {"name_or_path": str(base_model), "check_prompt": ""},
        "transfer": {"tokenizers": ["de-bpe-300"], "methods": ["fvt", "random"], "seed": 0,
                     "focus_max_bytes": 100000},
        "wechsel": {"tokenizers": ["de-bpe-300"], "languages": ["de"], "source": "en", "heldout": 0.2, "seed": 0,
                    "neighbours": 3, "temperature": 0.1, "cluster": "none",
                    "vectors": {"dim": 8, "epochs": 3, "min_count": 1, "buckets": 20000}},
        "hypernet": {"steps": 4, "batch_size": 2, "seq_len": 16, "langs": ["de", "ja"], "warmup_steps": 1,
                     "checkpoint_every": 2, "eval_every": 2, "eval_max_bytes": 300,
                     "eval_tokenizers": ["storage/tokenizers/de-bpe-300"],
                     "model": {"n_layers": 1, "hidden": 16, "n_heads": 2},
                     "sampler": {"vocab_min": 20, "vocab_max": 40, "cache_texts": 6, "max_piece_chars": 6}},
        "dynamic_eval": {"langs": ["de"], "docs": 8, "prefix_tokens": 24, "continuation_tokens": 8,
                         "min_prefix_tokens": 8, "budgets": [0, 5]},
        "vocab_index": {"size": 460, "langs": ["de", "ja"], "max_bytes_per_lang": 20000, "shard_size": 32,
                        "index": {"kind": "Flat"}, "queries": 20, "eval_langs": ["de"], "eval_max_bytes": 500},
        "adapt": {"tokenizers": ["de-bpe-300"], "inits": ["fvt", "hypernet"], "steps": 4, "batch_size": 2,
                  "seq_len": 16, "warmup_steps": 1, "eval_every": 2, "checkpoint_every": 2, "eval_max_bytes": 300,
                  "max_train_bytes": 20000},
        "evaluate": {"langs": ["de"], "control_max_bytes": 600, "draws": 200,
                     "score": {"window": 64, "stride": 48, "batch_tokens": 512}},
        "ensemble_eval": {"transfers": ["de-bpe-300/hypernet"], "max_bytes_per_lang": 300, "valid_max_bytes": 200,
                          "vocabulary_max_bytes": 20000, "draws": 200,
                          "score": {"window": 64, "stride": 48, "max_tokens": 64}},
        "encoder_model": {"name_or_path": str(encoder), "check_pair": [], "check_unrelated": ""},
        "help_task": {"langs": ["de"], "raw_dir": "storage/raw", "test_items": 1000, "train_items": 1000,
                      "min_label_items": 2, "min_test_items": 5},
        "encoder_transfer": {"tokenizers": ["de-sp-150"], "methods": ["fvt"], "focus_max_bytes": 100000},
        "encoder_hypernet": {"steps": 3, "batch_size": 2, "seq_len": 16, "langs": ["de"], "warmup_steps": 1,
                             "checkpoint_every": 2, "eval_every": 2, "eval_max_bytes": 300,
                             "eval_tokenizers": ["storage/tokenizers/de-sp-150"],
                             "model": {"n_layers": 1, "hidden": 16, "n_heads": 2},
                             "sampler": {"vocab_min": 20, "vocab_max": 40, "cache_texts": 6, "max_piece_chars": 6}},
        "encoder_eval": {"batch_size": 8},
        "encoder_dynamic_eval": {"reductions": [0.0, 0.2], "batch_size": 8, "eval": {"batch_size": 8}},
        "compound_data": {"lang": "de", "lexicon": "", "min_compounds": 20},
        "decompounder": {"char": {"embed": 8, "hidden": 16, "layers": 1, "epochs": 2}, "baselines": [], "draws": 200},
        "compound_tokenizers": {"de-compound-300": {"model": "bpe", "vocab_size": 300, "langs": ["de"]}},
        "compound_eval": {"tokenizers": {"de-compound-300": "storage/tokenizers/de-compound-300",
                                         "de-bpe-300": "storage/tokenizers/de-bpe-300",
                                         "original": "storage/models/base"}, "draws": 200},
    }


def make_project(root: Path, base_model: Path, encoder: Path) -> Path:
    """A git + DVC project holding the real dvc.yaml, stages and library, with tiny params and data."""
    from tests.encoders.test_help_task import english, help_tree, translated

    root.mkdir()
    for item in ("dvc.yaml", "stages", "src"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / item)
    (root / "params.yaml").write_text(yaml.safe_dump(tiny_params(base_model, encoder)), encoding="utf-8")
    help_tree(root / "storage" / "raw", "en", "en-US", english)  # unpacked already: nothing is downloaded
    help_tree(root / "storage" / "raw", "de", "de", lambda m, p, q: translated("de", m, p, q))
    for lang in [*SYLLABLES, "en"]:  # English and German long enough for word vectors (5,000 words)
        (root / "data" / lang).mkdir(parents=True)
        for i in range(20):
            text = make_text(lang, 80 if lang in ("de", "en") else 8, i)
            if lang == "de":  # hyphenated compounds of the text's own words, for the compound stages
                words = text.replace(".", "").split()
                text += "\n" + " ".join(f"{a.capitalize()}-{b}" for a, b in zip(words[::2], words[1::2], strict=False))
            (root / "data" / lang / f"{i}.txt").write_text(text, encoding="utf-8")
    words = {lang: sorted(set(make_text(lang, 80, 0).replace(".", "").split())) for lang in ("en", "de")}
    n = min(100, len(words["en"]), len(words["de"]))
    pairs = zip(words["en"][:n], words["de"][:n], strict=True)  # a made-up dictionary: alignment runs, nothing more
    write_dictd(root / "storage" / "raw", "eng-deu", {en: f"{en} /x/\n{de}\n" for en, de in pairs})
    write_dictd(root / "storage" / "raw", "deu-eng", {})
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}

    def run(*cmd: str) -> None:
        subprocess.run(cmd, cwd=root, check=True, env=env, capture_output=True)

    run("git", "init", "-q")
    run("dvc", "init", "-q")
    run("dvc", "config", "core.analytics", "false")
    # The project's own plot templates and offline page.
    shutil.copytree(ROOT / ".dvc" / "plots", root / ".dvc" / "plots")
    run("dvc", "config", "plots.html_template", "plots/offline.html")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "tiny")
    return root


@pytest.fixture()
def project(tmp_path, monkeypatch, tiny_models, tiny_e5):
    # `dvc` and the stages' `python` must be this environment's.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "project" / "src"))
    return make_project(tmp_path / "project", tiny_models["llama-tied"], tiny_e5["folder"])


async def read_metrics_artifacts() -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        return await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["tokshift-metrics"])))


def test_flow_runs_pipeline_and_publishes(project):
    from prefect.testing.utilities import prefect_test_harness

    sys.path.insert(0, str(ROOT / "flows"))
    try:
        from pipeline import pipeline
    finally:
        sys.path.remove(str(ROOT / "flows"))

    with prefect_test_harness(server_startup_timeout=120):
        # Two runs at once: the workspace's concurrency slot queues one behind the other.
        with ThreadPoolExecutor(2) as pool:
            ids = list(pool.map(lambda _: pipeline(workdir=str(project)), range(2)))
        artifacts = anyio.run(read_metrics_artifacts)

    warehouse = project / "storage" / "warehouse"
    runs = sorted((pq.read_table(warehouse / f"run_id={i}" / "run.parquet").to_pylist()[0] for i in ids),
                  key=lambda r: r["started"])
    first, second = runs[0]["run_id"], runs[1]["run_id"]
    assert first != second and runs[0]["finished"] <= runs[1]["started"], "the second run waited for the first"
    log = (project / "logs" / f"dvc-repro-{first}.log").read_text()
    assert "Running stage 'corpus'" in log and "Running stage 'stats'" in log
    assert "didn't change, skipping" in (project / "logs" / f"dvc-repro-{second}.log").read_text()

    assert sorted(p.name for p in warehouse.iterdir()) == sorted([f"run_id={first}", f"run_id={second}"])
    run = pq.read_table(warehouse / f"run_id={first}" / "run.parquet").to_pylist()[0]
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    assert run["git_sha"] == sha and "de-bpe-300" in run["params"] and run["started"] < run["finished"]

    con = connect(warehouse, warehouse=True)
    assert con.sql("SELECT count(*) FROM runs").fetchall() == [(2,)]
    per_run = dict(con.sql("SELECT run_id, count(DISTINCT tokenizer) FROM fertility GROUP BY run_id").fetchall())
    assert per_run == {first: 5, second: 5}  # three targets, the compound tokenizer and the original
    compounds = json.loads((project / "metrics" / "compound_eval.json").read_text())
    assert set(compounds["alignment"]) == {"de-compound-300", "de-bpe-300", "original"}

    evaluated = json.loads((project / "metrics" / "evaluate.json").read_text())
    assert set(evaluated) == {"original/original", "de-bpe-300/fvt", "de-bpe-300/random", "de-bpe-300/hypernet",
                              "de-bpe-300/fvt+adapt", "de-bpe-300/hypernet+adapt", "de-bpe-300/wechsel"}
    assert pq.read_table(project / "storage" / "evaluate" / "chunks.parquet").num_rows > len(evaluated)
    assert evaluated["de-bpe-300/hypernet+adapt"]["de"]["vs_zero_shot"]["verdict"] in ("tie", "lower", "higher")
    samples = json.loads((project / "metrics" / "samples.json").read_text())
    assert samples["de"]["test"]["sampled_docs"] >= 2 and "leaked_chunks" in samples["de"]["valid"]
    aligned = json.loads((project / "metrics" / "word_vectors.json").read_text())
    assert aligned["de"]["known_pairs"] >= 20 and "Running stage 'transfer_wechsel@de-bpe-300'" in log
    assert "Running stage 'adapt@de-bpe-300-fvt'" in log and "Running stage 'adapt@de-bpe-300-hypernet'" in log
    adapted = json.loads((project / "metrics" / "adapt" / "de-bpe-300-fvt.json").read_text())
    assert adapted["steps"] == 4 and adapted["valid_bpb"] < adapted["valid_bpb_start"]
    assert "Running stage 'hypernet'" in log and "Running stage 'transfer_hypernet@de-bpe-300'" in log
    assert all(v["de"]["bpb_lo"] <= v["de"]["bpb"] <= v["de"]["bpb_hi"] for v in evaluated.values())
    ensembles = json.loads((project / "metrics" / "ensemble_eval.json").read_text())["de-bpe-300/hypernet"]["de"]
    assert set(ensembles["alone"]) == {"original", "hypernet", "random", "fvt", "vocabulary"}
    assert set(ensembles["ensembles"]["random"]) == {"mixture", "product"} and ensembles["bytes"] > 200
    dynamic = json.loads((project / "metrics" / "dynamic_eval.json").read_text())
    assert "Running stage 'dynamic_eval'" in log and set(dynamic["de"]) == {"0", "5"}
    assert dynamic["de"]["0"]["bpb_change"] == 0.0 and dynamic["de"]["5"]["reduction"] > 0
    index = json.loads((project / "metrics" / "vocab_index.json").read_text())
    assert "Running stage 'vocab_index'" in log and index["vocabulary"] == 460 and index["recall_at_20"] > 0.9
    encoder = json.loads((project / "metrics" / "encoder_eval.json").read_text())
    assert set(encoder) == {"original", "de-sp-150/fvt", "de-sp-150/hypernet"}
    assert 0 <= encoder["de-sp-150/hypernet"]["de"]["p_at_1"] <= 1 and "Running stage 'encoder_hypernet'" in log
    shorter = json.loads((project / "metrics" / "encoder_dynamic_eval.json").read_text())
    assert shorter["target_0.0"]["de"]["reduction"] == 0.0 and "Running stage 'encoder_dynamic_eval'" in log
    assert index["langs"]["de"]["large_tokens"] <= index["langs"]["de"]["base_tokens"]
    mixture = json.loads((project / "metrics" / "mixture.json").read_text())
    assert "Running stage 'mixture'" in log and "Running stage 'mixture_validation'" in log
    assert mixture["tokenizers"]["de-bpe-300"]["weights"]["de"] > 0.5 and "ja-unigram-300" in mixture["skipped"]
    validated = json.loads((project / "metrics" / "mixture_validation.json").read_text())
    assert len(validated["mixtures"]) == 2 and validated["lp_log10_mse"] < validated["random_log10_mse"]
    generated = subprocess.run([sys.executable, "-m", "tokshift.cli", "generate", "--model", "storage/models/base",
                                "--vocab-index", "storage/vocab_index", "--max-new-tokens", "4", "Das Haus"],
                               cwd=project, capture_output=True, text=True)
    assert generated.returncode == 0 and generated.stdout.startswith("Das Haus"), generated.stderr[-2000:]

    # The evaluation plot renders with the vega builds inlined: no CDN, so it works offline.
    subprocess.run(["dvc", "plots", "show", "--out", "dvc_plots"], cwd=project, check=True, capture_output=True)
    page = (project / "dvc_plots" / "index.html").read_text(encoding="utf-8")
    assert "vega-embed" in page and "bits per byte" in page and "tokens per byte of the test sample" in page
    assert "https://cdn" not in page and "de-bpe-300/fvt" in page and "continuation bpb change vs prefix" in page

    assert artifacts, "the metrics table artifact was not published"
    assert any("tokens_per_word" in str(a.data) for a in artifacts)
