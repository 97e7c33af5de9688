"""``metacurate curate s3://bucket/pool/ --out s3://bucket/out/`` against a real S3 API (moto's
server on 127.0.0.1) with the real clients (pyarrow's S3 file system): outputs byte-identical
to the same run on local files, and a killed run resumes to the same bytes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from metacurate import MetacurateError
from metacurate.api import match_pool
from metacurate.files import atomic_path
from metacurate.lock import LOCK_NAME
from metacurate.pool.sources import expand_pool
from metacurate.storage import RemotePath
from tests.engine.test_resume import _strip, curate_cli

REPO = Path(__file__).resolve().parents[2]
#: Outputs that must be byte-identical between a local and an S3 run (side-cars and
#: records name their input's path, so they are compared by content instead).
SAME_BYTES = re.compile(
    r"^(curated/.*\.parquet|balance/.*\.(decisions|counts)\.parquet|curated_entry_counts\.parquet"
    r"|entry_counts\.parquet|uids\.npy|metadata\.json)$"
)


def _fs(endpoint: str) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(endpoint_override=endpoint, region="us-east-1")


def _task_free(name: str) -> str:
    """A file's name without the path hash of its task id (local and S3 paths differ)."""
    return re.sub(r"-[0-9a-f]{10}(?=[.-])", "", name)


def _canonical(rel: str, data: bytes) -> bytes:
    if rel.endswith(".json") and rel != "metadata.json":
        obj = json.loads(data)
        return json.dumps(_strip(obj) if isinstance(obj, dict) else obj, sort_keys=True).encode()
    return data


def s3_snapshot(endpoint: str, root: str) -> dict[str, bytes]:
    """Every object under ``root`` (``bucket/prefix``), volatile JSON fields removed, the
    report left out."""
    fs = _fs(endpoint)
    got = {}
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True)):
        if info.type != pafs.FileType.File or info.path.endswith("report.html"):
            continue
        rel = info.path[len(root) + 1 :]
        with fs.open_input_stream(info.path) as f:
            got[rel] = _canonical(rel, f.read())
    return got


def local_snapshot(root: Path) -> dict[str, bytes]:
    """Every file of a local run but the report and the local folder's lock file (emptied,
    never removed, at the end of a run: lock.py; an object store has no lock)."""
    return {
        str(p.relative_to(root)): _canonical(str(p.relative_to(root)), p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in ("report.html", LOCK_NAME)
    }


def upload_pool(endpoint: str, bucket: str, paths: list[str]) -> str:
    """The pool files under ``s3://bucket/pool/`` (plus files a listing must skip)."""
    fs = _fs(endpoint)
    for p in paths:
        pafs.copy_files(p, f"{bucket}/pool/{Path(p).name}", destination_filesystem=fs)
    with fs.open_output_stream(f"{bucket}/pool/_SUCCESS") as f:
        f.write(b"")
    with fs.open_output_stream(f"{bucket}/pool/.hidden/part-9.parquet") as f:
        f.write(b"not a pool file")
    return f"s3://{bucket}/pool/"


def curate_s3(pool_uri: str, out_uri: str, endpoint: str) -> subprocess.CompletedProcess:
    """The CLI, as ``test_resume.curate_cli`` runs it, on S3 URIs with ``--s3-endpoint``."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "metacurate.cli",
            "curate",
            pool_uri,
            "--out",
            out_uri,
            *("--t", "20", "--seed", "5", "--workers", "1", "--batch-rows", "1000"),
            *("--s3-endpoint", endpoint),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, pool) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("local") / "out"
    r = curate_cli(pool, out)
    assert r.returncode == 0, r.stderr
    return local_snapshot(out)


@pytest.fixture(scope="module")
def s3_run(s3_endpoint, pool, tmp_path_factory) -> tuple[str, dict[str, bytes]]:
    """One clean run on S3 (its own bucket), shared by the tests that compare with it."""
    fs = pafs.S3FileSystem(
        endpoint_override=s3_endpoint, region="us-east-1", allow_bucket_creation=True
    )
    fs.create_dir("clean")
    pool_uri = upload_pool(s3_endpoint, "clean", pool)
    r = curate_s3(pool_uri, "s3://clean/out/", s3_endpoint)
    assert r.returncode == 0, r.stderr
    return pool_uri, s3_snapshot(s3_endpoint, "clean/out")


def test_curate_on_s3_is_byte_identical_to_local(s3_run, local_run):
    _, remote = s3_run
    remote = {_task_free(k): v for k, v in remote.items()}
    local = {_task_free(k): v for k, v in local_run.items()}
    assert sorted(remote) == sorted(local)  # the same files, no temporaries, no lock
    same = sorted(k for k in local if SAME_BYTES.match(k))
    assert len([k for k in same if k.startswith("curated/")]) == 4 and "uids.npy" in same
    assert [k for k in same if remote[k] != local[k]] == []
    for k in (k for k in local if k.startswith("matches/") and k.endswith(".parquet")):
        assert pq.read_table(pa.BufferReader(remote[k])).equals(
            pq.read_table(pa.BufferReader(local[k]))
        ), k


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", ["match-batch:2", "count-file:2", "balance-record:2"])
def test_killed_and_resumed_on_s3_is_byte_identical(s3_endpoint, bucket, pool, s3_run, crash_at):
    pool_uri, clean = s3_run
    out = f"s3://{bucket}/out"
    r = subprocess.run(
        [sys.executable, "-m", "tests.storage.crash_s3", crash_at, s3_endpoint, out, pool_uri],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == -9, f"expected SIGKILL at {crash_at}: {r.returncode} {r.stderr}"
    assert "manifest.json" not in s3_snapshot(s3_endpoint, f"{bucket}/out")
    r = curate_s3(pool_uri, out, s3_endpoint)
    assert r.returncode == 0, r.stderr
    got = s3_snapshot(s3_endpoint, f"{bucket}/out")
    assert sorted(got) == sorted(clean)  # nothing left over, nothing missing
    assert [k for k in got if got[k] != clean[k]] == []


def test_endpoint_from_the_environment(s3_endpoint, bucket, pool, metadata, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    pool_uri = upload_pool(s3_endpoint, bucket, pool[:1])
    stats = match_pool(f"{pool_uri}*.parquet", out=f"s3://{bucket}/work", metadata=metadata)
    assert stats["rows"] == 3000 and stats["files"] == 1
    assert stats["inputs"][0]["path"] == f"s3://{bucket}/pool/part-0.parquet"
    again = match_pool(pool_uri, out=f"s3://{bucket}/work", metadata=metadata)
    assert again["files_matched_now"] == 0  # completion records on S3 are honoured


def test_listing_skips_hidden_and_names_what_is_missing(s3_endpoint, bucket, pool):
    pool_uri = upload_pool(s3_endpoint, bucket, pool[:2])
    found = [s.path for s in expand_pool([pool_uri], endpoint=s3_endpoint)]
    assert found == [f"s3://{bucket}/pool/part-0.parquet", f"s3://{bucket}/pool/part-1.parquet"]
    glob = [s.path for s in expand_pool([f"s3://{bucket}/**/part-1*"], endpoint=s3_endpoint)]
    assert glob == [f"s3://{bucket}/pool/part-1.parquet"]
    with pytest.raises(MetacurateError, match="no such file"):
        expand_pool([f"s3://{bucket}/nothing/"], endpoint=s3_endpoint)


def test_a_failed_write_leaves_no_object(s3_endpoint, bucket):
    target = RemotePath(f"s3://{bucket}/out/stats.json", s3_endpoint)
    target.write_text("old")
    with pytest.raises(ValueError), atomic_path(target) as tmp:
        with tmp.open_output_stream() as f:
            f.write(b"half")
        raise ValueError("killed half way")
    assert not target.exists()  # a half object is never left for a reader


def test_remote_paths_pickle_with_their_endpoint(s3_endpoint, bucket):
    import pickle

    p = RemotePath(f"s3://{bucket}/a/b.parquet", s3_endpoint)
    p.write_bytes(b"x")
    q = pickle.loads(pickle.dumps(p))
    assert q == p and q.endpoint == s3_endpoint and q.read_bytes() == b"x"
    assert (q.parent / "b.parquet") == p and p.stem == "b" and p.suffix == ".parquet"
    assert os.fspath(str(p)) == f"s3://{bucket}/a/b.parquet"
