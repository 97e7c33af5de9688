"""The Ray engine on a real local Ray cluster gives the local engine's bytes."""

from __future__ import annotations

import importlib.util

import pytest

from metacurate import MetacurateError
from metacurate.api import curate
from tests.conftest import require_system
from tests.engine.test_resume import snapshot


@pytest.fixture(scope="module")
def ray_cluster():
    require_system(
        "ray (pip install 'metacurate[ray]')", importlib.util.find_spec("ray") is not None
    )
    import ray

    # "local": a cluster of its own, never one that a parallel test started with ray start
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_and_local_engines_write_the_same_bytes(tmp_path, pool, metadata, ray_cluster):
    outs = {}
    for engine in ("local", "ray"):
        out = tmp_path / engine
        curate(
            pool,
            out,
            metadata=metadata,
            report=False,
            workers=2,
            engine=engine,
            batch_rows=1000,
            t=20.0,
            seed=5,
        )
        outs[engine] = snapshot(out)
    assert sorted(outs["local"]) == sorted(outs["ray"])
    assert [k for k in outs["local"] if outs["local"][k] != outs["ray"][k]] == []


@pytest.mark.slow
def test_ray_task_user_error_is_a_metacurate_error(tmp_path, metadata, ray_cluster):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not parquet")
    good = tmp_path / "good.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["a dog"]}), good)
    with pytest.raises(MetacurateError, match="bad.parquet"):
        curate(
            [str(good), str(bad)],
            tmp_path / "o",
            metadata=metadata,
            report=False,
            workers=2,
            engine="ray",
            t=5.0,
        )
