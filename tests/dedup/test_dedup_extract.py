"""``curate --dedup`` over several extract runs (snapshots) of real web-archive pages."""

from __future__ import annotations

import pyarrow.parquet as pq

from metacurate.api import curate
from metacurate.extract import extract
from tests.conftest import shared_file
from tests.reference import reference_match

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
    assert len({r["uid"] for r in rows}) == len(rows) > 0


def test_two_texts_of_one_image_are_two_uids_and_survive_dedup(tmp_path):
    """Extract's uid is the (url, text) pair's: an image with an alt and a title keeps both
    rows under --dedup, while the same pair in a second run is removed."""
    pages = shared_file("webarchive/pages_16.warc.gz")
    extract([pages], tmp_path / "CC-A", progress=False)
    extract([pages], tmp_path / "CC-B", progress=False)
    pool = pq.read_table(tmp_path / "CC-A").to_pylist()
    by_url: dict[str, set[str]] = {}
    for r in pool:
        by_url.setdefault(r["url"], set()).add(r["text"])
    assert any(len(t) > 1 for t in by_url.values())  # the sample has images with two texts
    assert len({r["uid"] for r in pool}) == len({(r["url"], r["text"]) for r in pool})
    opts = {"metadata": METADATA, "t": 1000, "seed": 0, "workers": 1, "report": False}
    m = curate([tmp_path / "CC-A", tmp_path / "CC-B"], tmp_path / "out", dedup=True, **opts)
    assert m["dedup"]["rows_removed"] == len(pool)
    kept = pq.read_table(tmp_path / "out" / "curated").to_pylist()
    pairs = {(r["url"], r["text"]) for r in kept}
    matched = {(r["url"], r["text"]) for r in pool if reference_match(METADATA, r["text"])}
    assert pairs == matched  # t above every count: each matched distinct pair kept once
