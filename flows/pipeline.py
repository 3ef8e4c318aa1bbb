"""Prefect flow: dvc pull -> dvc repro -> dvc push -> publish metrics and token statistics.

DVC owns the DAG and the cache; this flow schedules and observes. The repro log streams into the
flow log and is kept as `logs/dvc-repro-<run_id>.log`; metrics become a Prefect table artifact;
token statistics are copied into an append-only warehouse partition
`storage/warehouse/run_id=<id>/` beside a one-row `run.parquet` (run_id, git_sha, params,
started, finished) that `tokshift sql --warehouse` reads as the `runs` view.

Two runs never share a workspace: each holds the workspace's slot of a Prefect global concurrency limit
(`tokshift-workspace-<hash of its path>`, limit 1, created on first use) from pull to publish, so a second
run waits in line instead of meeting DVC's lock. Serve it on a cron schedule: `python flows/pipeline.py`
(see docs/prefect.md).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.concurrency.sync import concurrency

from tokshift.core.atomic import atomic_dir

STATS_TABLES = ("doc_stats", "token_freq")


def _run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed in {cwd}:\n{proc.stderr.strip()[-2000:]}")
    return proc.stdout


def has_remote(workdir: Path) -> bool:
    """True when the DVC project has a remote to pull from and push to."""
    return bool(_run(["dvc", "remote", "list"], workdir).strip())


@task(retries=3, retry_delay_seconds=10)
def dvc_pull(workdir: Path) -> bool:
    """Fetch cached outputs so repro only reruns what changed; skipped when no remote is configured."""
    if not has_remote(workdir):
        get_run_logger().info("no DVC remote configured: skipping dvc pull")
        return False
    # Outputs never pushed are fine (--allow-missing: repro rebuilds them); any other failure (remote
    # unreachable, credentials, a missing dvc-s3) fails the task, so its retries mean something.
    _run(["dvc", "pull", "--allow-missing"], workdir)
    return True


@task
def dvc_repro(workdir: Path, log_file: Path) -> None:
    """One `dvc repro`, stdout+stderr streamed line by line into the flow log and into `log_file`."""
    logger = get_run_logger()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w", encoding="utf-8") as out, subprocess.Popen(
        ["dvc", "repro"], cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            logger.info(line.rstrip("\n"))
    if proc.returncode != 0:
        raise RuntimeError(f"dvc repro failed with exit code {proc.returncode}; full log: {log_file}")


@task(retries=3, retry_delay_seconds=10)
def dvc_push(workdir: Path) -> bool:
    """Upload the new outputs to the remote; skipped when no remote is configured."""
    if not has_remote(workdir):
        get_run_logger().info("no DVC remote configured: skipping dvc push")
        return False
    _run(["dvc", "push"], workdir)
    return True


def flatten(data: object, prefix: str = "") -> dict[str, object]:
    """{'a': {'b': 1}} -> {'a.b': 1}."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, object] = {}
    for key, value in data.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


@task
def publish_metrics(workdir: Path) -> list[dict[str, object]]:
    """`dvc metrics show --json` as a Prefect table artifact with one row per (file, metric)."""
    shown = json.loads(_run(["dvc", "metrics", "show", "--json"], workdir) or "{}")
    rows = []
    for rev in shown.values():
        for path, entry in (rev.get("data") or {}).items():
            for metric, value in flatten(entry.get("data") or {}).items():
                rows.append({"file": path, "metric": metric, "value": value})
    create_table_artifact(table=rows, key="tokshift-metrics", description="dvc metrics show")
    return rows


@task
def publish_stats(workdir: Path, run: dict[str, str]) -> Path:
    """Copy token statistics into `storage/warehouse/run_id=<id>/` (never overwriting an earlier run)."""
    stats = workdir / "storage" / "stats"
    final = workdir / "storage" / "warehouse" / f"run_id={run['run_id']}"
    if final.exists():
        raise FileExistsError(f"{final}: this run id is already published; the warehouse is append-only")
    with atomic_dir(final) as tmp:
        for table in STATS_TABLES:
            shutil.copytree(stats / table, tmp / table)
        pq.write_table(pa.Table.from_pylist([run]), tmp / "run.parquet")
    return final


def git_sha(workdir: Path) -> str:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=workdir, capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else "unknown"


def workspace_limit(root: Path) -> str:
    """Name of the global concurrency limit (1 slot) that admits one run at a time into `root`."""
    from prefect.client.orchestration import get_client

    name = "tokshift-workspace-" + hashlib.sha256(str(root).encode()).hexdigest()[:12]
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(name, 1)
    return name


@flow(name="tokshift-pipeline", log_prints=True)
def pipeline(workdir: str = ".") -> str:
    """Run the DVC pipeline in `workdir` once and publish its metrics and statistics; returns the run id."""
    from prefect.runtime import flow_run

    root = Path(workdir).resolve()
    run_id = str(flow_run.id or uuid.uuid4())
    with concurrency(workspace_limit(root), occupy=1):  # a second run waits here until the first is done
        started = datetime.now(UTC).isoformat()
        dvc_pull(root)
        dvc_repro(root, root / "logs" / f"dvc-repro-{run_id}.log")
        dvc_push(root)
        publish_metrics(root)
        params = (root / "params.yaml").read_text(encoding="utf-8")
        run = {"run_id": run_id, "git_sha": git_sha(root), "params": params, "started": started,
               "finished": datetime.now(UTC).isoformat()}
        publish_stats(root, run)
    return run_id


if __name__ == "__main__":
    # A global concurrency limit of 1: two `dvc repro` in one workspace must never overlap.
    pipeline.serve(name="nightly", cron="0 3 * * *", global_limit=1, limit=1,
                   parameters={"workdir": str(Path(__file__).resolve().parent.parent)})
