"""Pool files as real folders hold them: Spark's ``part-00000`` (Parquet by its first bytes),
compressed Parquet and JSON Lines (``.gz``, ``.bz2``, ``.zst``, ``.xz``, ``.lz4``); a file of no
known format is listed in the stats, the manifest and the summary, never skipped silently."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate.api import curate
from metacurate.pool import expand_pool, read_batches

N = 200


def _table(k: int) -> pa.Table:
    return pa.table(
        {
            "text": [f"a photo of a dog {k} {i}" for i in range(N)],
            "url": [f"http://x/{k}/{i}" for i in range(N)],
        }
    )


def _jsonl(k: int) -> bytes:
    t = _table(k)
    return "".join(
        f'{{"text": "{a}", "url": "{b}"}}\n'
        for a, b in zip(t["text"].to_pylist(), t["url"].to_pylist(), strict=True)
    ).encode()


def _parquet_bytes(k: int) -> bytes:
    buf = io.BytesIO()
    pq.write_table(_table(k), buf)
    return buf.getvalue()


def _compressed(data: bytes, codec: str) -> bytes:
    if codec == "gz":
        return gzip.compress(data)
    if codec == "bz2":
        return bz2.compress(data)
    if codec == "xz":
        return lzma.compress(data)
    out = pa.BufferOutputStream()
    with pa.CompressedOutputStream(out, {"zst": "zstd", "lz4": "lz4"}[codec]) as f:
        f.write(data)
    return out.getvalue().to_pybytes()


@pytest.fixture
def pool(tmp_path):
    d = tmp_path / "pool"
    d.mkdir()
    (d / "part-00000").write_bytes(_parquet_bytes(0))  # Spark / Hadoop naming
    for k, codec in enumerate(["gz", "bz2", "zst", "xz", "lz4"], start=1):
        (d / f"j{k}.jsonl.{codec}").write_bytes(_compressed(_jsonl(k), codec))
        (d / f"p{k}.parquet.{codec}").write_bytes(_compressed(_parquet_bytes(k + 10), codec))
    (d / "notes.xyz").write_text("not a pool file")
    return d


def test_every_kind_is_found_and_read(pool):
    skipped: list[str] = []
    sources = expand_pool([str(pool)], skipped=skipped)
    assert len(sources) == 11
    assert {s.format for s in sources} == {"parquet", "jsonl"}
    assert skipped == [str(pool / "notes.xyz")]
    for src in sources:
        assert sum(b.num_rows for b in read_batches(src)) == N, src.path


def test_a_run_reads_them_and_lists_what_it_did_not(pool, tmp_path):
    m = curate(str(pool), str(tmp_path / "out"), t=5.0, seed=1, workers=1, report=False)
    assert m["pool_rows"] == 11 * N
    assert m["skipped_files"] == [str(pool / "notes.xyz")]
