"""Ray at cluster size, on a real 2-node cluster: tasks in flight follow the cluster's CPUs
(not the driver's cores), as many run at once as the cluster has CPUs, on every node, and the
outputs are byte-identical to the local engine's."""

from __future__ import annotations

import pytest

from metacurate.api import curate
from tests.engine.ray_cluster import Pause, two_node_cluster
from tests.engine.test_resume import snapshot

OPTIONS = {"report": False, "batch_rows": 1000, "t": 20.0, "seed": 5}


@pytest.fixture(scope="module")
def cluster():
    with two_node_cluster() as c:
        yield c


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, pool, metadata) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("local") / "out"
    curate(pool, out, metadata=metadata, workers=1, **OPTIONS)
    return snapshot(out)


@pytest.mark.slow
def test_in_flight_follows_the_cluster_and_outputs_match_local(
    tmp_path, pool, metadata, cluster, local_run, capfd
):
    out = tmp_path / "ray"
    m = curate(
        pool, out, metadata=metadata, engine="ray", checkpoint=Pause(), **OPTIONS
    )  # no --workers: the cluster's CPUs
    err = capfd.readouterr().err
    assert "ray: 2 tasks in flight (2 CPUs on 2 nodes)" in err
    assert m["engine"]["cluster_cpus"] == 2 and m["engine"]["nodes"] == 2
    assert m["engine"]["in_flight"] == 2
    assert m["engine"]["tasks"] == 8  # 4 match + 4 balance tasks
    assert m["engine"]["peak_running"] == 2  # as many at once as the cluster has CPUs
    assert m["engine"]["nodes_used"] == 2
    assert "at most 2 running at once, on 2 of 2 nodes" in err
    got = snapshot(out)
    assert sorted(got) == sorted(local_run)
    assert [k for k in got if got[k] != local_run[k]] == []


@pytest.mark.slow
def test_in_flight_flag_bounds_the_tasks_running(tmp_path, pool, metadata, cluster, capfd):
    m = curate(
        pool,
        tmp_path / "one",
        metadata=metadata,
        engine="ray",
        in_flight=1,
        checkpoint=Pause(0.1),
        **OPTIONS,
    )
    assert "ray: 1 task in flight (2 CPUs on 2 nodes)" in capfd.readouterr().err
    assert m["engine"]["in_flight"] == 1 and m["engine"]["peak_running"] == 1
