"""``curate --dedup`` on the Ray engine writes the local engine's bytes."""

from __future__ import annotations

import pytest

from tests.dedup.test_dedup import make_rows, run, write_files
from tests.engine.test_ray import ray_cluster  # noqa: F401
from tests.engine.test_resume import snapshot


@pytest.mark.slow
def test_ray_and_local_dedup_write_the_same_bytes(tmp_path, ray_cluster):  # noqa: F811
    pool = write_files(make_rows(6000, seed=12), tmp_path / "pool", 4, seed=13)
    outs = {}
    for engine in ("local", "ray"):
        m = run(pool, tmp_path / engine, engine=engine, workers=2, dedup_memory_mb=1)
        assert m["dedup"]["rows_removed"] > 0 and m["dedup"]["partitions"] == 2
        outs[engine] = snapshot(tmp_path / engine)
    assert sorted(outs["local"]) == sorted(outs["ray"])
    assert [k for k in outs["local"] if outs["local"][k] != outs["ray"][k]] == []
