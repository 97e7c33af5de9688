"""A real multi-node Ray cluster on this machine (``ray.cluster_utils.Cluster``, what Ray's own
tests use): a head node and a second node, one CPU each, each its own raylet; and a hook
that slows tasks down so that the run shows how many run at once."""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import require_system

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def two_node_cluster() -> Iterator[object]:
    """Connect this process to a fresh 2-node, 2-CPU cluster; shut it down afterwards."""
    require_system(
        "ray (pip install 'metacurate[ray]')", importlib.util.find_spec("ray") is not None
    )
    import ray
    from ray.cluster_utils import Cluster

    old_path = os.environ.get("PYTHONPATH")  # workers import the hooks of tests/
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), old_path) if p)
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        if old_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old_path


class Pause:
    """``checkpoint(name)``: sleep ``seconds`` at every batch, so that tasks last long enough
    for the cluster to run several at once (they are tiny otherwise)."""

    def __init__(self, seconds: float = 0.3) -> None:
        self.seconds = seconds

    def __call__(self, name: str) -> None:
        if name in ("match-batch", "balance-batch"):
            time.sleep(self.seconds)
