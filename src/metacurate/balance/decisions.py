"""Reading the decisions side-cars that balance tasks write
(``OUT/balance/<task>.decisions.parquet``: ``selected``, ``kept``, ``keep_prob`` per input row,
in side-car order).

The report, ``explain`` and any later reader use these, never a second computation of the rule.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.files import read_parquet, reading
from metacurate.storage import RemotePath, parquet_file
from metacurate.workdir import Workdir

DECISIONS_SCHEMA = pa.schema(
    [("selected", pa.bool_()), ("kept", pa.bool_()), ("keep_prob", pa.float64())]
)


def read_decisions(
    out: str | Path | RemotePath, task_id: str, rows: int | None = None
) -> pa.Table | None:
    """The first ``rows`` decisions of a task (all when None), or None when not balanced."""
    path = Workdir(out).decisions(task_id)
    if not path.exists():
        return None
    if rows is None:
        return read_parquet(path)
    with reading(path), parquet_file(path) as pf:
        got, n = [], 0
        for batch in pf.iter_batches(batch_size=max(1, min(rows, 65_536))):
            got.append(batch.slice(0, rows - n))
            n += len(got[-1])
            if n >= rows:
                break
    return (
        pa.Table.from_batches(got, schema=DECISIONS_SCHEMA)
        if got
        else DECISIONS_SCHEMA.empty_table()
    )


def find_uid(
    match_root: str | Path | RemotePath, task_ids: list[str], uid: str
) -> list[tuple[str, int, list[int]]]:
    """Every ``(task_id, row index, entry_ids)`` whose side-car row has this ``uid``."""
    wd = Workdir(match_root)
    hits = []
    for task_id in task_ids:
        path = wd.sidecar(task_id)
        if not path.exists():
            continue
        side = read_parquet(path, columns=["uid", "entry_ids"])
        rows = np.flatnonzero(pc.equal(side.column("uid"), uid).to_numpy(zero_copy_only=False))
        for r in rows:
            hits.append((task_id, int(r), side.column("entry_ids")[int(r)].as_py()))
    return hits


def decision_at(out: str | Path | RemotePath, task_id: str, row: int) -> dict | None:
    """``{"selected", "kept", "keep_prob"}`` of one row, or None when not balanced."""
    table = read_decisions(out, task_id, row + 1)
    if table is None or table.num_rows <= row:
        return None
    return {name: table.column(name)[row].as_py() for name in DECISIONS_SCHEMA.names}
