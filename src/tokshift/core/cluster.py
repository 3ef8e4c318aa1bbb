"""Where independent tasks run: in this process, or fanned out on a Dask cluster (the `cluster` setting).

`none` (the default) runs the tasks one after the other here, exactly as without Dask; `local:N` starts a
distributed LocalCluster of N single-threaded worker processes on this machine for the call; an address
(`tcp://host:8786`) joins a running scheduler, whose workers must see the same files (a shared
filesystem) and have tokshift installed. Results come back in task order whatever order they finish in,
so the output of a fan-out is the output of the sequential run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tqdm import tqdm

from tokshift.core.errors import TokshiftError

FORMS = "none, local:N (N worker processes here) or a scheduler address such as tcp://host:8786"


class ClusterError(TokshiftError, RuntimeError):
    """A cluster setting that names nothing startable, or a scheduler that cannot be reached."""


def is_cluster_spec(spec: str) -> bool:
    """Whether a setting has one of the three forms (config time; reachability is checked when used)."""
    spec = str(spec).strip()
    if spec == "none" or "://" in spec:
        return True
    return spec.startswith("local:") and spec[6:].isdigit() and int(spec[6:]) > 0


@contextlib.contextmanager
def cluster_client(spec: str, field: str = "cluster", connect_timeout: float = 20) -> Iterator[Any]:
    """None for `none`; else a distributed.Client on a fresh LocalCluster (closed afterwards) or a scheduler."""
    spec = str(spec).strip()
    if spec == "none":
        yield None
        return
    if not is_cluster_spec(spec):
        raise ClusterError(f"{field}: '{spec}' is not a cluster; use {FORMS}")
    from distributed import Client, LocalCluster

    if spec.startswith("local:"):
        # Single-threaded workers: the tasks are CPU-bound Python, and each process is one core.
        with LocalCluster(n_workers=int(spec[6:]), threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(spec, timeout=f"{connect_timeout}s")
    except OSError as err:
        raise ClusterError(f"{field}: cannot reach the Dask scheduler at {spec} ({err}); start it "
                           f"(`dask scheduler`) or set {field}: none") from None
    with client:
        yield client


def fan_out(fn: Callable[..., Any], tasks: Sequence[tuple], spec: str = "none", field: str = "cluster",
            desc: str = "tasks") -> list[Any]:
    """[fn(*task) for task in tasks], on the cluster `spec` names; results in task order, with a progress bar."""
    with cluster_client(spec, field) as client:
        if client is None:
            return [fn(*task) for task in tqdm(tasks, desc=desc, unit="task", disable=None)]
        from distributed import as_completed

        # pure=False: identical arguments still mean separate runs (nothing is deduplicated by hash).
        futures = [client.submit(fn, *task, pure=False) for task in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(tasks)
        for future in tqdm(as_completed(futures), total=len(futures), desc=f"{desc} ({spec})", unit="task",
                           disable=None):
            results[index[future.key]] = future.result()  # a task's exception is raised here, as it was
        return results
