"""The whole picture of a cluster run: a 2-node Ray cluster whose tasks read the pool from
and write the outputs to S3 (moto's server), byte-identical to a local run on local files."""

from __future__ import annotations

import pytest

from metacurate.api import curate
from tests.engine.ray_cluster import two_node_cluster
from tests.storage.test_s3 import SAME_BYTES, _task_free, local_snapshot, s3_snapshot, upload_pool


@pytest.mark.slow
def test_ray_cluster_on_s3_matches_local_files(tmp_path, s3_endpoint, bucket, pool, metadata):
    options = {"metadata": metadata, "report": False, "batch_rows": 1000, "t": 20.0, "seed": 5}
    curate(pool, tmp_path / "local", workers=1, **options)
    local = {_task_free(k): v for k, v in local_snapshot(tmp_path / "local").items()}
    pool_uri = upload_pool(s3_endpoint, bucket, pool)
    with two_node_cluster():
        m = curate(pool_uri, f"s3://{bucket}/out", engine="ray", s3_endpoint=s3_endpoint, **options)
    assert m["engine"]["nodes"] == 2 and m["engine"]["tasks"] == 8
    remote = {_task_free(k): v for k, v in s3_snapshot(s3_endpoint, f"{bucket}/out").items()}
    assert sorted(remote) == sorted(local)
    same = [k for k in local if SAME_BYTES.match(k)]
    assert len(same) >= 14 and [k for k in same if remote[k] != local[k]] == []
