"""A uid curated twice is counted (``curated_duplicate_uids``) whatever the uids look like,
also across input files, and duplicate uids are named on the console."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from tests.reliability.conftest import cli

N = 300


def _file(path, uids):
    texts = [f"a photo of a dog {i}" for i in range(len(uids))]
    pq.write_table(pa.table({"uid": uids, "text": texts}), path)


def test_uids_curated_twice_are_counted_and_said(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    _file(pool / "a.parquet", [f"row-{i}" for i in range(N)])  # not DataComp-like
    _file(pool / "b.parquet", [f"row-{i}" for i in range(N)])  # the same uids again
    out = tmp_path / "out"
    r = cli("curate", pool, "--out", out, "--t", "1e9", "--workers", "1")
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["curated_rows"] == 2 * N and m["uids_npy"] is False
    assert m["curated_duplicate_uids"] == N
    assert f"{N:,} curated rows repeat a curated uid" in r.stdout


def test_duplicate_uids_in_a_file_are_said(tmp_path):
    _file(tmp_path / "p.parquet", ["same"] * N)
    r = cli("curate", tmp_path / "p.parquet", "--out", tmp_path / "o", "--t", "1e9")
    assert r.returncode == 0, r.stderr
    assert f"{N - 1:,} pool rows repeat the uid" in r.stdout
