"""``curate --dedup`` over several extract runs (snapshots) of real web-archive pages."""

from __future__ import annotations

import pyarrow.parquet as pq

from metacurate.api import curate
from metacurate.extract import extract
from tests.conftest import shared_file

METADATA = ["the", "a", "logo", "image", "of", "and", "photo", "in", "to", "for", "with"]


def curated(out) -> list[dict]:
    rows = pq.read_table(out / "curated").to_pylist()
    return sorted(rows, key=lambda r: (r["uid"], r["text"]))


def test_dedup_across_two_extract_runs(tmp_path):
    pages = shared_file("webarchive/pages_16.warc.gz")
    whirlwind = shared_file("webarchive/whirlwind.warc.gz")
    first = extract([pages], tmp_path / "CC-A", progress=False)
    extract([pages, whirlwind], tmp_path / "CC-B", progress=False)
    assert first["total"]["kept"] > 0
    opts = {"metadata": METADATA, "t": 2, "seed": 0, "workers": 1, "report": False}
    only_b = curate(tmp_path / "CC-B", tmp_path / "out-b", dedup=True, **opts)
    both = curate([tmp_path / "CC-A", tmp_path / "CC-B"], tmp_path / "out", dedup=True, **opts)
    # every row of the first snapshot is in the second: all of them go
    assert both["dedup"]["rows_removed"] == first["total"]["kept"] + only_b["dedup"]["rows_removed"]
    assert both["dedup"]["rows_unique"] == only_b["dedup"]["rows_unique"]
    a = pq.read_table(tmp_path / "out" / "entry_counts.parquet").column("count")
    b = pq.read_table(tmp_path / "out-b" / "entry_counts.parquet").column("count")
    assert a.equals(b)
    rows = curated(tmp_path / "out")
    assert rows == curated(tmp_path / "out-b")
    assert len({r["uid"] for r in rows}) == len(rows) > 0  # extract's uid: one per image URL
