"""``balance --available``: every figure is over the downloaded rows (the expected size
agrees with the online balancer's), the report says so and shows only those rows; a damaged
or oddly typed img2dataset output is one line. No img2dataset or network needed: its output
folder is written here."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate import balance
from metacurate.api import balance_workdir, match_pool
from metacurate.demo import make_sample
from metacurate.errors import MetacurateError
from metacurate.metadata import load_default_metadata
from metacurate.online import OnlineBalancer
from metacurate.report import write_report
from metacurate.report.stats import load_run, summary

T, SEED = 20.0, 5


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("avail")
    pool = make_sample(root / "pool.parquet", load_default_metadata(), rows=3000, seed=3)
    table = pq.read_table(pool)
    got = np.random.default_rng(0).random(table.num_rows) < 0.6
    shards = root / "shards"
    shards.mkdir()
    status = np.where(got, "success", "failed_to_download")
    pq.write_table(
        pa.table({"uid": table.column("uid"), "url": table.column("url"), "status": status}),
        shards / "00000.parquet",
    )
    work = root / "work"
    match_pool(str(pool), str(work), workers=1)
    return root, work, shards, table, got


def test_expected_size_is_over_the_available_rows(run, tmp_path):
    root, work, shards, table, got = run
    out = tmp_path / "b"
    m = balance_workdir(str(work), str(out), t=T, seed=SEED, available=str(shards), workers=1)
    (side_path,) = [p for p in (work / "matches").glob("*.parquet") if "." not in p.stem]
    side = pq.read_table(side_path)
    p = pq.read_table(out / "curated_entry_counts.parquet").column("p").to_numpy()
    by_row = balance.keep_prob(side.column("entry_ids").combine_chunks(), p)
    assert math.isclose(m["expected_rows"], float(by_row[got].sum()), rel_tol=1e-9)
    assert m["expected_rows"] <= m["available"]["pool_rows_available"]
    online = OnlineBalancer(str(work), t=T, seed=SEED, available=str(shards))
    assert math.isclose(m["expected_rows"], online.expected_size(), rel_tol=1e-9)


def test_the_report_is_over_the_available_rows(run, tmp_path):
    root, work, shards, table, got = run
    out = tmp_path / "b"
    balance_workdir(str(work), str(out), t=T, seed=SEED, available=str(shards), workers=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "divide by zero encountered in log" was printed
        write_report(str(out))
    labels = [r["label"] for r in summary(load_run(str(out)))]
    assert any(label.startswith("rows available") for label in labels)


def _refused(work, folder, tmp_path) -> str:
    with pytest.raises(MetacurateError) as err:
        balance_workdir(str(work), str(tmp_path / "o"), t=T, available=str(folder), workers=1)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_a_half_written_shard_is_one_line(run, tmp_path):
    root, work, shards, table, got = run
    folder = tmp_path / "shards"
    folder.mkdir()
    data = (shards / "00000.parquet").read_bytes()
    (folder / "00000.parquet").write_bytes(data)
    (folder / "00001.parquet").write_bytes(data[: len(data) // 2])  # img2dataset still writing
    msg = _refused(work, folder, tmp_path)
    assert "00001.parquet" in msg and "still" in msg


@pytest.mark.parametrize("column", ["status", "url"])
def test_int_status_or_url_columns_are_read_or_one_line(run, tmp_path, column):
    root, work, shards, table, got = run
    folder = tmp_path / "shards"
    folder.mkdir()
    n = table.num_rows
    cols = {"url": pa.array(range(n)), "status": pa.array(["success"] * n)}
    cols[column] = pa.array(range(n))
    pq.write_table(pa.table(cols), folder / "00000.parquet")
    _refused(work, folder, tmp_path)  # nothing maps back: said in one line, no traceback
