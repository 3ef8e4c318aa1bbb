"""The statistics flow runs each (tokenizer, language) as a Prefect task on Dask and writes the stage's output."""

from __future__ import annotations

import sys

import pytest
import yaml

from tests.helpers import ROOT

pytestmark = pytest.mark.slow


def test_flow_on_dask_writes_what_the_stage_writes(stats, corpus_file, tokenizers_dir, tmp_path):
    from prefect.testing.utilities import prefect_test_harness

    sys.path.insert(0, str(ROOT / "flows"))
    try:
        from stats import task_runner, token_stats
    finally:
        sys.path.remove(str(ROOT / "flows"))
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"stats": {"tokenizers_dir": str(tokenizers_dir), "extra_tokenizers": {},
                                                "batch_size": 7}}), encoding="utf-8")
    with prefect_test_harness(server_startup_timeout=120):
        metrics = token_stats.with_options(task_runner=task_runner("local:2"))(
            str(corpus_file), str(tmp_path / "flow-stats"), str(params))
    single, _, _ = stats
    files = sorted(p.relative_to(single) for p in single.rglob("*.parquet"))
    assert files == sorted(p.relative_to(tmp_path / "flow-stats") for p in (tmp_path / "flow-stats").rglob("*.parquet"))
    assert all((single / f).read_bytes() == (tmp_path / "flow-stats" / f).read_bytes() for f in files)
    assert set(metrics) == {"de-bpe-400", "ja-unigram-400"}
    with pytest.raises(SystemExit, match="must be local:N or a scheduler address"):
        task_runner("none")
