"""The balancing rule (docs/semantics.md, "Balancing"): ``p_e`` and the keep decision.

With threshold ``t > 0``: ``p_e = 1`` if ``count[e] < t``, else ``t / count[e]``. A row with match
set ``M`` is kept iff some ``e`` in ``M`` has ``u(seed, uid, e) < p_e`` (online balancing:
``u(seed, epoch, uid, e)``), with ``u`` the keyed hash of ``keyed_hash.py``; an empty ``M`` is never
kept. The decision depends only on the row's own ``uid_hash`` and match set, so it is the same
whatever the sharding, file order, worker count or resume point, and kept sets are nested in
``t``.

Pure, vectorised functions of numpy arrays and Arrow ``list<int32>`` arrays (the ``entry_ids``
column of a side-car); no per-row Python loop.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.balance.keyed_hash import as_u64, hash_key, row_keys, uniform_from_row_keys
from metacurate.errors import MetacurateError
from metacurate.kernel import calls, native_available

EXPECTED_SIZE_NOTE = (
    "expected size = sum over rows of 1 - prod_{e in M}(1 - p_e), not sum_e min(count, t): "
    "a row matching several entries is counted once, and a row with several head entries gets "
    "several chances to be kept."
)

# --- match sets as flat arrays -------------------------------------------------------------------


def flatten(entry_ids: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, values)``: int64 offsets rebased to 0 (length rows + 1) and the flat entry ids.

    Handles sliced arrays (offset != 0), chunked arrays and large lists. A null list counts as an
    empty match set (the row is never kept).
    """
    if isinstance(entry_ids, pa.ChunkedArray):
        chunks = [flatten(c) for c in entry_ids.chunks]
        if not chunks:
            return np.zeros(1, np.int64), np.zeros(0, np.int64)
        lengths = np.concatenate([np.diff(o) for o, _ in chunks])
        offsets = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return offsets, np.concatenate([v for _, v in chunks])
    if not isinstance(entry_ids, (pa.ListArray, pa.LargeListArray)):
        raise MetacurateError(
            f"entry_ids must be an Arrow list<int32> array (the side-car 'entry_ids' column), "
            f"got {type(entry_ids).__name__}"
        )
    if entry_ids.null_count:
        entry_ids = pc.fill_null(entry_ids, pa.scalar([], type=entry_ids.type))
    offsets = entry_ids.offsets.to_numpy().astype(np.int64)
    start, stop = int(offsets[0]), int(offsets[-1])
    flat = entry_ids.values.slice(start, stop - start)
    if flat.null_count:
        raise MetacurateError(
            "entry_ids contains a null entry id inside a list; the side-car is corrupt"
        )
    values = flat.to_numpy(zero_copy_only=False)
    if values.dtype.kind not in "iu":
        raise MetacurateError(f"entry_ids must hold integer ids, got {flat.type}")
    if start:
        offsets -= start
    return offsets, values


def check_ids(values: np.ndarray, n_entries: int, what: str) -> None:
    if values.size and (int(values.min()) < 0 or int(values.max()) >= n_entries):
        raise MetacurateError(
            f"entry_ids hold ids in [{int(values.min())}, {int(values.max())}] but {what} has "
            f"{n_entries} entries; the side-car and entry_counts come from different metadata"
        )


def check_rows(offsets: np.ndarray, uid_hash: np.ndarray) -> np.ndarray:
    uid_hash = as_u64(uid_hash, "uid_hash")
    if uid_hash.shape != (len(offsets) - 1,):
        raise MetacurateError(
            f"uid_hash has shape {uid_hash.shape} but entry_ids has {len(offsets) - 1} rows; "
            "pass the uid_hash column of the same side-car batch"
        )
    return uid_hash


def nonempty_starts(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of rows with at least one match and their start offsets (for ``ufunc.reduceat``)."""
    rows = np.flatnonzero(offsets[1:] > offsets[:-1])
    return rows, offsets[rows]


def row_uniforms(
    offsets: np.ndarray, values: np.ndarray, uid_hash: np.ndarray, seed: int, epoch: int | None
) -> np.ndarray:
    """``u(seed[, epoch], uid, e)`` for every (row, e) pair, flat, aligned with ``values``."""
    r = row_keys(seed, epoch, uid_hash)
    return uniform_from_row_keys(np.repeat(r, np.diff(offsets)), values)


# --- per-entry probabilities and the keep decision -----------------------------------------------


def check_counts(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts)
    if counts.ndim != 1 or (counts.size and counts.dtype.kind not in "iu"):
        raise MetacurateError(
            f"counts must be a 1-d integer array (entry_counts.parquet 'count'), got dtype "
            f"{counts.dtype} and shape {counts.shape}"
        )
    counts = counts.astype(np.int64, copy=False)
    if counts.size and int(counts.min()) < 0:
        raise MetacurateError("counts must be non-negative; entry_counts.parquet is corrupt")
    return counts


def check_t(t: float) -> float:
    t = float(t)
    if not t > 0:  # also rejects NaN
        raise MetacurateError(f"t must be > 0, got {t}; pass a positive threshold such as 20000")
    return t


def entry_probs(counts: np.ndarray, t: float) -> np.ndarray:
    """``p_e = 1`` if ``count[e] < t`` else ``t / count[e]`` (float64; count 0 gives 1)."""
    t = check_t(t)
    c = check_counts(counts).astype(np.float64)
    p = np.ones(c.shape, np.float64)
    head = ~(c < t)
    np.divide(t, c, out=p, where=head)
    return p


def keep_mask(
    entry_ids: pa.Array | pa.ChunkedArray,
    uid_hash: np.ndarray,
    p: np.ndarray,
    seed: int,
    epoch: int | None = None,
) -> np.ndarray:
    """Per-row keep decision: keep iff some ``e`` of the row's match set has ``u < p[e]``.

    ``u = uniform(seed, uid_hash, e, epoch)``. Rows with an empty (or null) match set are never
    kept.
    """
    offsets, values = flatten(entry_ids)
    return _keep_mask_flat(
        offsets, values, check_rows(offsets, uid_hash), _probs(p, values), seed, epoch
    )


def keep_prob(entry_ids: pa.Array | pa.ChunkedArray, p: np.ndarray) -> np.ndarray:
    """Per-row keep probability ``1 - prod_{e in M}(1 - p_e)`` (0 for empty rows, exactly 1 if any
    ``p_e == 1``)."""
    offsets, values = flatten(entry_ids)
    return _keep_prob_flat(offsets, values, _probs(p, values))


def decide(
    entry_ids: pa.Array | pa.ChunkedArray,
    uid_hash: np.ndarray,
    p: np.ndarray,
    seed: int,
    epoch: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(keep_mask, keep_prob)`` of the same rows, flattening the match sets once."""
    offsets, values = flatten(entry_ids)
    uid_hash = check_rows(offsets, uid_hash)
    p = _probs(p, values)
    return (
        _keep_mask_flat(offsets, values, uid_hash, p, seed, epoch),
        _keep_prob_flat(offsets, values, p),
    )


def _probs(p: np.ndarray, values: np.ndarray) -> np.ndarray:
    p = np.ascontiguousarray(p, dtype=np.float64)
    check_ids(values, len(p), "p")
    return p


def _keep_mask_flat(
    offsets: np.ndarray,
    values: np.ndarray,
    uid_hash: np.ndarray,
    p: np.ndarray,
    seed: int,
    epoch: int | None,
) -> np.ndarray:
    if native_available():  # the same formula in C, without per-match temporaries
        return calls.keep_mask(offsets, values, uid_hash, p, hash_key(seed, epoch))
    hit = row_uniforms(offsets, values, uid_hash, seed, epoch) < p[values]
    keep = np.zeros(len(offsets) - 1, bool)
    rows, starts = nonempty_starts(offsets)
    if rows.size:
        keep[rows] = np.logical_or.reduceat(hit, starts)
    return keep


def _row_sums(offsets: np.ndarray, values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Per row, ``table[e]`` summed left to right over its match set (0.0 when empty); the same
    order in C and numpy, so both give the same bits."""
    if native_available():
        return calls.row_sums(offsets, values, table)
    lengths = np.diff(offsets)
    starts = offsets[:-1]
    acc = np.zeros(len(lengths), np.float64)
    for k in range(int(lengths.max()) if len(lengths) else 0):  # k-th match of every row
        rows = np.flatnonzero(lengths > k)
        acc[rows] += table[values[starts[rows] + k]]
    return acc


def _keep_prob_flat(offsets: np.ndarray, values: np.ndarray, p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        log_miss = np.log1p(-p)  # -inf where p == 1
    s = _row_sums(offsets, values, log_miss)
    # -expm1(-inf) == 1.0 exactly; empty rows (s == 0) get +0.0
    return np.where(offsets[1:] > offsets[:-1], -np.expm1(s), 0.0)


def expected_size(entry_ids: pa.Array | pa.ChunkedArray, p: np.ndarray) -> float:
    """Expected curated size: the sum of :func:`keep_prob` over rows. See ``EXPECTED_SIZE_NOTE``."""
    return float(keep_prob(entry_ids, p).sum())


def sum_min_count_t(counts: np.ndarray, t: float) -> float:
    """``sum_e min(count[e], t)``: the per-entry budget, an upper bound that is *not* the expected
    size (see ``EXPECTED_SIZE_NOTE``)."""
    t = check_t(t)
    c = check_counts(counts).astype(np.float64)
    return float(np.minimum(c, t).sum())
