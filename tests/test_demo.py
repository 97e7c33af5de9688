"""``metacurate demo`` on the shipped LAION sample: the cut is visible."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq

from metacurate.cli import main


def test_demo_cuts_the_head_and_keeps_the_tail(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["pool_rows"] == 10_000
    t = manifest["t"]
    counts = pq.read_table(out / "curated_entry_counts.parquet").to_pandas()
    top = counts.sort_values("count", ascending=False).iloc[0]
    assert top["count"] >= 2 * t
    assert top["count_curated"] <= top["count"] / 2  # the largest entry keeps at most half
    tail = counts[(counts["count"] > 0) & (counts["count"] < t)]
    assert len(tail) > 100
    assert (tail["count_curated"] == tail["count"]).all()  # every tail entry keeps all
    # the count file agrees with the curated rows themselves
    curated = pq.read_table(out / "curated", columns=["entry_ids"]).column("entry_ids")
    recount = np.bincount(
        np.concatenate([np.asarray(x, dtype=np.int64) for x in curated.to_pylist()]),
        minlength=len(counts),
    )
    assert (recount == counts["count_curated"].to_numpy()).all()
    # the printed lines say it
    assert f"'{top['entry']}' {top['count']:,} -> {top['count_curated']:,}" in printed
    assert "all kept whole" in printed
    assert printed.count("metadata:") == 1  # one disclaimer, not two


def test_demo_json(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--workers", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    effect = doc["effect"]
    assert doc["manifest"]["curated_rows"] > 0
    assert effect["tail"]["entries_cut"] == 0
    assert effect["largest"][0]["kept_share"] <= 0.5


def test_shipped_sample_is_the_laion_fixture(tmp_path):
    """The shipped sample is the shared LAION sample's URL and TEXT, rows in order (NOTICE)."""
    from metacurate.demo import copy_laion_sample
    from tests.conftest import shared_file

    ours = pq.read_table(copy_laion_sample(tmp_path / "s.parquet"))
    theirs = pq.read_table(
        shared_file("captions/laion_sample_10k.parquet"), columns=["URL", "TEXT"]
    )
    assert ours.column_names == ["URL", "TEXT"]
    assert ours.equals(theirs.replace_schema_metadata(None))
