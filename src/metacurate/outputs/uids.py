"""``uids.npy`` in DataComp's subset format: a sorted array of two uint64 per kept uid."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.files import save_npy
from metacurate.pool.uid import uid_hash
from metacurate.storage import AnyPath, read_table


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


def write_datacomp_uids(path: AnyPath, curated_files: list[AnyPath]) -> tuple[bool, int]:
    """Write ``uids.npy`` when every kept uid is 32 hex digits (else remove a stale one);
    each uid once, however many kept rows share it. Returns (written, duplicate kept rows):
    the duplicates are counted over the whole curated set whatever the uids look like.

    Holds 16 bytes per kept row in memory, since the array is sorted as a whole."""
    parts: list[np.ndarray] | None = []
    hashes = []
    for f in curated_files:
        if not f.exists():
            continue
        uids = read_table(f, columns=["uid"]).column(0)
        hashes.append(uid_hash(uids))
        if parts is not None:  # None once a uid is not DataComp-like: no uids.npy
            halves = datacomp_halves(uids)
            parts = None if halves is None else parts + [halves]
    ordered = np.sort(np.concatenate(hashes)) if hashes else np.zeros(0, np.uint64)
    duplicates = int(np.count_nonzero(ordered[1:] == ordered[:-1]))
    if not parts or sum(len(h) for h in parts) == 0:
        path.unlink(missing_ok=True)
        return False, duplicates
    halves = np.concatenate(parts)
    arr = np.empty(len(halves), dtype=np.dtype("u8,u8"))
    arr["f0"], arr["f1"] = halves[:, 0], halves[:, 1]
    unique = np.unique(arr)  # sorted, each uid once
    save_npy(path, unique)
    return True, len(arr) - len(unique)
