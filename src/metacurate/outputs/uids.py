"""``uids.npy`` in DataComp's subset format: a sorted array of two uint64 per kept uid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from metacurate.files import save_npy


def datacomp_halves(uids: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """The uids as (n, 2) uint64 halves when every one is 32 hex digits, else None."""
    uids = uids.cast(pa.string())
    if isinstance(uids, pa.ChunkedArray):
        uids = uids.combine_chunks()
    if len(uids) == 0:
        return np.zeros((0, 2), np.uint64)
    if pc.min_max(pc.binary_length(uids)).as_py() != {"min": 32, "max": 32}:
        return None
    lower = pc.utf8_lower(uids)
    raw = np.frombuffer(lower.buffers()[2], dtype=np.uint8)[: 32 * len(uids)]
    digit = (raw >= ord("0")) & (raw <= ord("9"))
    if not (digit | ((raw >= ord("a")) & (raw <= ord("f")))).all():
        return None
    nib = np.where(digit, raw - ord("0"), raw - ord("a") + 10).astype(np.uint64)
    shifts = np.arange(60, -1, -4, dtype=np.uint64)
    return (nib.reshape(-1, 2, 16) << shifts).sum(axis=2, dtype=np.uint64)


def write_datacomp_uids(path: Path, curated_files: list[Path]) -> bool:
    """Write ``uids.npy`` when every kept uid is 32 hex digits (else remove a stale one).

    Holds 16 bytes per kept row in memory, since the array is sorted as a whole; stops reading
    at the first file that is not DataComp-like."""
    parts = []
    for f in curated_files:
        if not f.exists():
            continue
        halves = datacomp_halves(pq.read_table(f, columns=["uid"]).column(0))
        if halves is None:
            path.unlink(missing_ok=True)
            return False
        parts.append(halves)
    if not parts or sum(len(h) for h in parts) == 0:
        path.unlink(missing_ok=True)
        return False
    halves = np.concatenate(parts)
    arr = np.empty(len(halves), dtype=np.dtype("u8,u8"))
    arr["f0"], arr["f1"] = halves[:, 0], halves[:, 1]
    arr.sort()
    save_npy(path, arr)
    return True
