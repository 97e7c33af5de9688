"""The curated rows: every source column of a kept row, plus ``uid``, ``entry_ids`` and
``keep_prob`` (docs/formats.md)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

#: Columns every curated row gets from the run (``uid`` only when the source has none).
RUN_COLUMNS = ("entry_ids", "keep_prob")


def source_renamed(table: pa.Table, names: tuple[str, ...]) -> pa.Table:
    """``table`` with each source column named in ``names`` renamed ``NAME_source`` (then
    ``NAME_source_2``, ...: the first name free), so the run's own column can be added."""
    columns = list(table.column_names)
    for name in names:
        if name not in columns:
            continue
        new, k = f"{name}_source", 2
        while new in columns:
            new, k = f"{name}_source_{k}", k + 1
        columns[columns.index(name)] = new
    return table.rename_columns(columns) if columns != table.column_names else table


def curated_table(
    batch: pa.RecordBatch,
    keep: np.ndarray,
    uid: pa.Array | pa.ChunkedArray,
    entry_ids: pa.Array,
    keep_prob: np.ndarray,
) -> pa.Table:
    """The kept rows of one source ``batch`` with the run's columns appended (a source ``uid``
    column is kept as it is; the source's own ``entry_ids`` or ``keep_prob``, as in a curated
    set curated again, stay renamed: :func:`source_renamed`)."""
    kept_rows = pa.array(np.flatnonzero(keep))
    table = source_renamed(pa.Table.from_batches([batch.filter(pa.array(keep))]), RUN_COLUMNS)
    if "uid" not in table.column_names:
        table = table.append_column("uid", uid.take(kept_rows))
    table = table.append_column("entry_ids", entry_ids.take(kept_rows))
    return table.append_column("keep_prob", pa.array(keep_prob[keep]))
