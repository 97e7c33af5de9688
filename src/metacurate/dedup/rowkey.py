"""The content key of a pool row: which copy of a uid ``--dedup`` keeps.

``row_key`` is a 64-bit hash of every column of the row as the pool reader gives it: columns
in the order of their names; per column its name, its value's bytes (strings and binaries as
they are; numbers, booleans, dates and times as Arrow's string cast writes them, so int32 1 and
int64 1 agree; lists, structs and maps as sorted-key JSON) and a marker that tells a null from
an empty value. FNV-1a 64 over those bytes, then MurmurHash3's finalizer (``pool.uid``).

It depends on the row's content only, never on the file, its name, the row's position or the
worker, so the copy chosen is the same for any file layout (docs/how-it-works.md, "Dedup").
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.pool.uid import FNV_BASIS, FNV_PRIME, fmix64, fnv1a_update

#: Bump when the formula changes: dedup work files of another version are redone.
ROW_KEY_VERSION = 1


def _mix_bytes(state: np.ndarray, data: bytes) -> None:
    """FNV-1a over the same bytes for every row (a column name, a marker)."""
    for b in data:
        state ^= np.uint64(b)
        state *= np.uint64(FNV_PRIME)


def _as_bytes(arr: pa.Array) -> pa.Array:
    """The value of each row as bytes to hash (nulls stay null)."""
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t):
        return arr
    if pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return arr.cast(pa.large_binary()) if pa.types.is_fixed_size_binary(t) else arr
    if pa.types.is_dictionary(t):
        return _as_bytes(arr.dictionary_decode())
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.string())
    try:
        return pc.cast(arr, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # nested: sorted-key JSON
        values = arr.to_pylist()
        return pa.array(
            [None if v is None else json.dumps(v, sort_keys=True, default=str) for v in values],
            pa.large_string(),
        )


def row_keys(batch: pa.RecordBatch | pa.Table) -> np.ndarray:
    """The content key of every row of ``batch`` (uint64)."""
    n = batch.num_rows
    state = np.full(n, FNV_BASIS, dtype=np.uint64)
    names = batch.schema.names
    for name in sorted(names):
        col = batch.column(names.index(name))
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        _mix_bytes(state, name.encode("utf-8") + b"\xff")
        fnv1a_update(state, _as_bytes(col))
        valid = np.ones(n, bool) if col.null_count == 0 else col.is_valid().to_numpy(False)
        state ^= np.where(valid, np.uint64(0xFF), np.uint64(0xFE))
        state *= np.uint64(FNV_PRIME)
    return fmix64(state)
