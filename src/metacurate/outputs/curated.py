"""The curated rows: every source column of a kept row, plus ``uid``, ``entry_ids`` and
``keep_prob`` (docs/formats.md)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def curated_table(
    batch: pa.RecordBatch,
    keep: np.ndarray,
    uid: pa.Array | pa.ChunkedArray,
    entry_ids: pa.Array,
    keep_prob: np.ndarray,
) -> pa.Table:
    """The kept rows of one source ``batch`` with the run's columns appended (a source ``uid``
    column is kept as it is)."""
    kept_rows = pa.array(np.flatnonzero(keep))
    table = pa.Table.from_batches([batch.filter(pa.array(keep))])
    if "uid" not in table.column_names:
        table = table.append_column("uid", uid.take(kept_rows))
    table = table.append_column("entry_ids", entry_ids.take(kept_rows))
    return table.append_column("keep_prob", pa.array(keep_prob[keep]))
