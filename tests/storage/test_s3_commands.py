"""``plan`` and ``explain --workdir`` read an output folder on S3 as ``stats``, ``report`` and
``balance`` do (they turned ``s3://b/out`` into ``s3:/b/out``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from tests.reliability.conftest import REPO, one_line_error


def _cli(endpoint: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "metacurate.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env={**os.environ, "AWS_ENDPOINT_URL": endpoint},
    )


def test_plan_and_explain_read_an_s3_run(s3_endpoint, bucket, tmp_path):
    texts = [f"a photo of a dog and a cat {i}" for i in range(300)]
    pq.write_table(pa.table({"text": texts}), tmp_path / "p.parquet")
    fs = pafs.S3FileSystem(endpoint_override=s3_endpoint, region="us-east-1")
    pafs.copy_files(
        str(tmp_path / "p.parquet"), f"{bucket}/pool/p.parquet", destination_filesystem=fs
    )
    out = f"s3://{bucket}/out"
    r = _cli(
        s3_endpoint, "curate", f"s3://{bucket}/pool/", "--out", out, "--t", "5", "--workers", "1"
    )
    assert r.returncode == 0, r.stderr
    r = _cli(s3_endpoint, "plan", out, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["pool_rows"] == 300
    r = _cli(s3_endpoint, "explain", texts[0], "--workdir", out, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["keep_prob"] > 0


def test_a_missing_output_bucket_is_one_line_with_the_fix(s3_endpoint, tmp_path):
    pq.write_table(pa.table({"text": ["a photo of a dog"] * 50}), tmp_path / "p.parquet")
    r = _cli(
        s3_endpoint,
        "curate",
        str(tmp_path / "p.parquet"),
        "--out",
        "s3://no-such-bucket-x/out",
        "--t",
        "5",
    )
    line = one_line_error(r)
    assert "bucket exists" in line and "--s3-endpoint" in line


def test_an_unreachable_pool_store_is_not_called_the_output_folder(tmp_path):
    r = _cli(
        "http://127.0.0.1:1", "curate", "s3://b/pool/", "--out", str(tmp_path / "o"), "--t", "5",
    )  # fmt: skip
    line = one_line_error(r)
    assert "s3://b/pool/: cannot list the pool" in line and "output folder" not in line
