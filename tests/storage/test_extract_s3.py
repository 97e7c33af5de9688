"""extract reads WARC files and writes its output on S3 (a moto server): the same rows and
stats as a local run, and a rerun skips the files done there."""

from __future__ import annotations

import gzip

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from metacurate.config import EngineConfig
from metacurate.extract import extract


def _warc(i: int) -> bytes:
    body = f'<html><body><img src="/a{i}.jpg" alt="picture {i}"></body></html>'.encode()
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body
    head = (
        f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://s{i}.example/\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n"
    ).encode()
    return gzip.compress(head + http + b"\r\n\r\n", mtime=0)


def test_extract_from_and_to_s3(s3_endpoint, bucket, tmp_path):
    fs = pafs.S3FileSystem(endpoint_override=s3_endpoint, region="us-east-1")
    local = []
    for i in range(3):
        data = _warc(i)
        with fs.open_output_stream(f"{bucket}/in/f{i}.warc.gz", compression=None) as f:
            f.write(data)
        (tmp_path / f"f{i}.warc.gz").write_bytes(data)
        local.append(tmp_path / f"f{i}.warc.gz")
    engine = EngineConfig(workers=1, s3_endpoint=s3_endpoint)
    remote = [f"s3://{bucket}/in/f{i}.warc.gz" for i in range(2)]
    extract(remote, f"s3://{bucket}/pool", progress=False, engine=engine)
    remote.append(f"s3://{bucket}/in/f2.warc.gz")
    stats = extract(remote, f"s3://{bucket}/pool", progress=False, engine=engine)  # adds f2
    want = extract(local, tmp_path / "pool", progress=False)
    assert stats["total"] == want["total"] and stats["rows"] == 3
    with fs.open_input_file(f"{bucket}/pool/part-00000.parquet") as f:
        got = pq.read_table(f)
    mine = pq.read_table(tmp_path / "pool" / "part-00000.parquet")
    keep = [c for c in mine.column_names if c != "warc_file"]  # the inputs' names differ
    assert got.select(keep).equals(mine.select(keep))
    assert got.column("warc_file").to_pylist() == remote
    assert isinstance(got, pa.Table)
