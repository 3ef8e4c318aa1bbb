"""The cluster setting: none runs here, local:N on a Dask LocalCluster, results in task order either way."""

from __future__ import annotations

import pytest

from tokshift.core.cluster import ClusterError, cluster_client, fan_out, is_cluster_spec


def slow_square(x: int) -> int:
    import time

    time.sleep(0.05 * (5 - x))  # later tasks finish first
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("task 3 failed")
    return x


@pytest.mark.parametrize("spec, ok", [("none", True), ("local:2", True), ("tcp://10.0.0.1:8786", True),
                                      ("local:0", False), ("local", False), ("dask", False), ("", False)])
def test_the_three_forms(spec, ok):
    assert is_cluster_spec(spec) is ok


def test_none_runs_in_this_process():
    assert fan_out(slow_square, [(i,) for i in range(5)]) == [0, 1, 4, 9, 16]


@pytest.mark.slow
def test_local_cluster_keeps_task_order_and_raises_task_errors():
    assert fan_out(slow_square, [(i,) for i in range(5)], "local:2") == [0, 1, 4, 9, 16]
    with pytest.raises(ValueError, match="task 3 failed"):
        fan_out(fail_on_three, [(i,) for i in range(5)], "local:2")


def test_bad_or_unreachable_cluster_is_one_line():
    with pytest.raises(ClusterError, match=r"^stats\.cluster: 'local:x' is not a cluster; use none, local:N"):
        with cluster_client("local:x", "stats.cluster"):
            pass
    with pytest.raises(ClusterError, match=r"^stats\.cluster: cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        with cluster_client("tcp://127.0.0.1:9", "stats.cluster", connect_timeout=1):
            pass
