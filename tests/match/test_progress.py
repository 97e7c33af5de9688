"""The match bar's postfix counts the rows matched so far, written out (``rows=3,000``), not
the last file's rows in tqdm's short form (``rows=1e+3``)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from tests.reliability.conftest import cli


def test_the_bar_counts_rows_so_far(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    for k in range(3):
        pq.write_table(
            pa.table({"text": [f"a dog {k} {i}" for i in range(1000)]}), pool / f"{k}.pq"
        )
    r = cli("match", pool, "--out", tmp_path / "o", "--progress", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "rows=3,000" in r.stderr and "e+" not in r.stderr
