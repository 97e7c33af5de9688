"""Counting: ``count[e]`` = number of rows whose match set contains ``e`` (semantics.md 2)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from metacurate.metadata.load import Metadata


def count_entries(entry_ids: pa.ListArray, n_entries: int) -> np.ndarray:
    """Per-entry row counts of one batch (match sets hold each id once, so a bincount of the
    flattened ids counts rows)."""
    values = entry_ids.flatten().to_numpy(zero_copy_only=False)
    return np.bincount(values, minlength=n_entries).astype(np.int64)


def sparse_counts_table(counts: np.ndarray) -> pa.Table:
    """The non-zero counts as a table (entry_id int32, count int64): a task's partial counts."""
    nz = np.flatnonzero(counts)
    return pa.table({"entry_id": pa.array(nz.astype(np.int32)), "count": pa.array(counts[nz])})


def add_sparse(total: np.ndarray, tables: Iterable[pa.Table]) -> np.ndarray:
    """Add partial count tables into ``total`` (in place); addition makes order irrelevant."""
    for t in tables:
        ids = t.column("entry_id").to_numpy()
        np.add.at(total, ids, t.column("count").to_numpy())
    return total


def entry_counts_table(metadata: Metadata, counts: np.ndarray) -> pa.Table:
    """``entry_counts.parquet``: every entry, hit or not, with its count."""
    return pa.table(
        {
            "entry_id": pa.array(np.arange(len(metadata), dtype=np.int32)),
            "entry": metadata.arrow(),
            "count": pa.array(counts.astype(np.int64)),
        }
    )
