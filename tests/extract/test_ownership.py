"""``extract --out DIR --force`` replaces only what extract wrote (its shards carry a footer
key); a user's own ``part-NNNNN.parquet`` in DIR is never deleted or overwritten."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import http_response, warc_record, write_warc
from metacurate.errors import MetacurateError
from metacurate.extract import extract


def _warc(tmp_path: Path) -> Path:
    page = b'<html><body><img src="/a.jpg" alt="a red bicycle"></body></html>'
    return write_warc(
        tmp_path / "a.warc", [warc_record("response", http_response(page), "http://x/")]
    )


def test_force_keeps_a_users_own_part_file(tmp_path: Path) -> None:
    """Item 4: the shard name pattern was taken as ownership: --force deleted it."""
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "part-00007.parquet"
    pq.write_table(pa.table({"x": [1, 2, 3]}), mine)
    before = mine.read_bytes()
    first = out / "part-00000.parquet"
    first.write_bytes(b"my notes, not parquet")
    with pytest.raises(MetacurateError, match="not extract output"):
        extract([_warc(tmp_path)], out, force=True, progress=False)
    assert mine.read_bytes() == before
    assert first.read_bytes() == b"my notes, not parquet"


def test_force_replaces_extracts_own_shards(tmp_path: Path) -> None:
    out = tmp_path / "out"
    warc = _warc(tmp_path)
    extract([warc], out, progress=False)
    extract([warc], out, force=True, progress=False)
    assert (out / "part-00000.parquet").exists()
