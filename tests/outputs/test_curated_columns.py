"""Curated files always read back: a pool's own ``entry_ids`` / ``keep_prob`` (a curated set
curated again, or a column of that name) stay, renamed ``NAME_source``; names given twice and an
output folder holding the inputs are refused before anything runs."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from metacurate.api import balance_workdir, curate, match_pool
from metacurate.errors import MetacurateError
from tests.reliability.conftest import cli, one_line_error

N = 400
TEXTS = [f"a photo of a dog and a cat {i}" for i in range(N)]


def _readable(folder) -> pa.Table:
    table = pq.read_table(folder)
    assert len(pd.read_parquet(folder)) == table.num_rows
    return table


def test_a_curated_set_curates_again(tmp_path):
    pq.write_table(pa.table({"text": TEXTS, "url": [f"u{i}" for i in range(N)]}), tmp_path / "p.pq")
    first = tmp_path / "first"
    curate(str(tmp_path / "p.pq"), str(first), t=50.0, seed=1, workers=1, report=False)
    again = tmp_path / "again"
    m = curate(str(first / "curated"), str(again), t=5.0, seed=1, workers=1, report=False)
    table = _readable(again / "curated")
    assert table.num_rows == m["curated_rows"] > 0
    assert table.column_names[-4:] == [
        "entry_ids_source",
        "keep_prob_source",
        "entry_ids",
        "keep_prob",
    ]
    before = set(pq.read_table(first / "curated").column("uid").to_pylist())
    assert set(table.column("uid").to_pylist()) <= before  # the uids carried over


def test_a_pool_column_named_keep_prob_is_kept_renamed(tmp_path):
    pool = tmp_path / "p.parquet"
    pq.write_table(pa.table({"text": TEXTS, "keep_prob": [0.5] * N}), pool)
    curate(str(pool), str(tmp_path / "o"), t=5.0, seed=1, workers=1, report=False)
    table = _readable(tmp_path / "o" / "curated")
    assert table.column("keep_prob_source").to_pylist() == [0.5] * table.num_rows
    assert set(table.column("keep_prob").to_pylist()) != {0.5}


def test_source_renamed_takes_the_first_free_name():
    from metacurate.outputs.curated import source_renamed

    t = pa.table({"a": [1], "a_source": [2], "b": [3]})
    assert source_renamed(t, ("a", "c")).column_names == ["a_source_2", "a_source", "b"]


def test_columns_named_twice_are_refused(tmp_path):
    tsv = tmp_path / "cc.tsv"
    tsv.write_text("a dog\thttp://x/1.jpg\n")
    r = cli("curate", tsv, "--columns", "caption,caption", "--out", tmp_path / "o", "--t", "5")
    assert r.returncode == 2 and "named twice" in r.stderr
    assert not (tmp_path / "o").exists()


def test_balance_into_the_pool_folder_is_refused(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    pq.write_table(pa.table({"text": TEXTS}), pool / "p.parquet")
    work = tmp_path / "work"
    match_pool(str(pool), str(work), workers=1)
    try:
        balance_workdir(str(work), str(pool), t=5.0, workers=1)
    except MetacurateError as exc:
        assert "inside the output folder" in str(exc)
    else:
        raise AssertionError("balance wrote its outputs into the pool folder")
    assert sorted(p.name for p in pool.iterdir()) == ["p.parquet"]
    line = one_line_error(cli("balance", work, "--t", "5", "--out", pool))
    assert "inside the output folder" in line
