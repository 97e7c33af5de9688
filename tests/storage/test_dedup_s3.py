"""``curate --dedup`` with the pool and the output on S3 (moto's server on 127.0.0.1): the
same counts and curated rows as the same run on local files, and a rerun reuses its work."""

from __future__ import annotations

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from metacurate.api import curate
from tests.dedup.test_dedup import METADATA, make_rows, write_files
from tests.storage.test_s3 import _fs, upload_pool


def _curated(table) -> list:
    return sorted(
        zip(*(table.column(c).to_pylist() for c in ("uid", "url", "text", "w")), strict=True)
    )


def test_dedup_on_s3_equals_local(tmp_path, s3_endpoint, bucket):
    paths = write_files(make_rows(3000, seed=5), tmp_path / "pool", 3, seed=3)
    opts = {"metadata": METADATA, "t": 3, "seed": 1, "workers": 1, "report": False}
    opts |= {"dedup": True, "dedup_memory_mb": 1, "batch_rows": 500}
    local = curate(paths, tmp_path / "out", **opts)
    pool = upload_pool(s3_endpoint, bucket, paths)
    out = f"s3://{bucket}/out/"
    remote = curate(pool, out, s3_endpoint=s3_endpoint, **opts)
    assert remote["dedup"]["rows_removed"] == local["dedup"]["rows_removed"] > 0
    fs = _fs(s3_endpoint)
    with fs.open_input_file(f"{bucket}/out/entry_counts.parquet") as f:
        counts = pq.read_table(f).column("count")
    assert counts.equals(pq.read_table(tmp_path / "out" / "entry_counts.parquet").column("count"))
    files = fs.get_file_info(pafs.FileSelector(f"{bucket}/out/curated"))
    remote_rows = []
    for info in files:
        with fs.open_input_file(info.path) as f:
            remote_rows += _curated(pq.read_table(f))
    assert sorted(remote_rows) == _curated(pq.read_table(tmp_path / "out" / "curated"))
    again = curate(pool, out, s3_endpoint=s3_endpoint, **opts)  # everything reused
    assert again["dedup"] == remote["dedup"]
