"""Balancing: per-entry probabilities ``p_e``, the keyed-hash keep decision and the choice of ``t``.

Contract (semantics.md section 3). With threshold ``t > 0``::

    p_e = 1            if count[e] < t
    p_e = t / count[e] otherwise

A row with match set ``M`` is kept iff some ``e`` in ``M`` has ``u(seed, uid, e) < p_e`` (online
balancing: ``u(seed, epoch, uid, e)``), where ``u`` is the keyed hash of :func:`uniform`. A row with
an empty ``M`` is never kept. The decision depends only on the row's own ``uid_hash`` and match set,
so it is the same whatever the sharding, file order, worker count or resume point, and the kept sets
are nested in ``t``.

Every function here is a pure, vectorised function of numpy arrays and Arrow list arrays; there is
no per-row Python loop. Match sets arrive as an Arrow ``list<int32>`` array (the ``entry_ids``
column of a side-car file), one list per row, plus a ``uint64`` array of ``uid_hash`` values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.errors import MetacurateError
from metacurate.kernel import native as _native
from metacurate.kernel import native_available
from metacurate.kernel.tables import kernel_call

__all__ = [
    "EXPECTED_SIZE_NOTE",
    "HASH_VERSION",
    "entry_probs",
    "expected_size",
    "keep_mask",
    "keep_prob",
    "row_threshold",
    "sum_min_count_t",
    "t_for_tail_share",
    "t_for_target_size",
    "tail_share",
    "uniform",
]

HASH_VERSION = 1
"""Version of the keyed hash ``u`` in :func:`uniform`. Part of the on-disk contract: curated sets
made with one version are reproduced only by the same version. Bump it (never edit the formula in
place) if the construction ever has to change."""

EXPECTED_SIZE_NOTE = (
    "expected size = sum over rows of 1 - prod_{e in M}(1 - p_e), not sum_e min(count, t): "
    "a row matching several entries is counted once, and a row with several head entries gets "
    "several chances to be kept."
)

# --- the keyed hash (HASH_VERSION 1) -------------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio, the splitmix64 increment
_SEED_TAG = np.uint64(0x6D65746163757261)  # ASCII "metacura": domain tag for the seed
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_POW_M53 = 2.0**-53
_U64_MAX = 2**64 - 1


def _mix64_inplace(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer (Stafford "Mix13"), in place on a uint64 array, wrapping arithmetic."""
    x ^= x >> _S30
    x *= _MIX1
    x ^= x >> _S27
    x *= _MIX2
    x ^= x >> _S31
    return x


def _mix64(x: int) -> int:
    """The same finalizer on a Python int (for the scalar key schedule)."""
    m = _U64_MAX
    x &= m
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & m
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & m
    x ^= x >> 31
    return x


def _key(seed: int, epoch: int | None) -> int:
    """Scalar key ``K(seed, epoch)``; distinct for every epoch and for ``None`` at a fixed seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise MetacurateError(f"seed must be an integer, got {seed!r}; pass e.g. --seed 0")
    seed = int(seed)
    if not 0 <= seed <= _U64_MAX:
        raise MetacurateError(f"seed must be in [0, 2^64), got {seed}; pass a non-negative seed")
    if epoch is None:
        c = 0
    else:
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
            raise MetacurateError(f"epoch must be an integer or None, got {epoch!r}")
        epoch = int(epoch)
        if not 0 <= epoch < _U64_MAX:
            raise MetacurateError(f"epoch must be in [0, 2^64 - 1), got {epoch}")
        c = epoch + 1
    seed_key = _mix64(seed ^ int(_SEED_TAG))
    return _mix64(seed_key ^ ((c * int(_GOLDEN)) & _U64_MAX))


def _as_u64(a: np.ndarray | Sequence[int], what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == np.uint64:
        return a
    if a.dtype.kind == "i":
        return a.astype(np.int64, copy=False).view(np.uint64)
    if a.dtype.kind == "u":
        return a.astype(np.uint64)
    if a.size == 0:
        return a.astype(np.uint64)
    raise MetacurateError(f"{what} must be an integer array (uint64), got dtype {a.dtype}")


def _row_keys(seed: int, epoch: int | None, uid_hash: np.ndarray) -> np.ndarray:
    """Per-row state ``R = mix(K ^ uid_hash)`` (new uint64 array)."""
    r = _as_u64(uid_hash, "uid_hash") ^ np.uint64(_key(seed, epoch))
    return _mix64_inplace(r)


def _uniform_from_row_keys(r: np.ndarray, entry_ids: np.ndarray) -> np.ndarray:
    """``u = (mix(R + (e + 1) * G) >> 11) * 2^-53`` elementwise (R and entry_ids broadcast)."""
    e = _as_u64(entry_ids, "entry_ids")
    x = np.broadcast_to(e, np.broadcast_shapes(e.shape, r.shape)) + np.uint64(1)
    x *= _GOLDEN
    x += r
    x = _mix64_inplace(x)
    x >>= _S11
    u = x.astype(np.float64)
    u *= _TWO_POW_M53
    return u


def uniform(
    seed: int,
    uid_hash: np.ndarray,
    entry_ids: np.ndarray,
    epoch: int | None = None,
) -> np.ndarray:
    """The keyed hash ``u(seed, uid, e)`` (or ``u(seed, epoch, uid, e)``) in ``[0, 1)``.

    Elementwise: ``uid_hash`` and ``entry_ids`` broadcast against each other.
    All arithmetic is on unsigned 64-bit integers modulo 2^64 (HASH_VERSION 1)::

        mix(x)  = splitmix64 finalizer:  x ^= x >> 30; x *= 0xBF58476D1CE4E5B9;
                                         x ^= x >> 27; x *= 0x94D049BB133111EB; x ^= x >> 31
        G       = 0x9E3779B97F4A7C15
        c       = 0 if epoch is None else epoch + 1
        K       = mix( mix(seed ^ 0x6D65746163757261) ^ (c * G) )
        R       = mix( K ^ uid_hash )
        u       = ( mix( R + (e + 1) * G ) >> 11 ) * 2^-53

    ``u`` for a row is the ``(e + 1)``-th output of a splitmix64 stream seeded with ``R``. ``mix``
    is a bijection and ``c * G`` is distinct for every ``c < 2^64`` (G is odd), so at a fixed seed
    every epoch, and ``None``, gives a different key ``K``; distinct uids give distinct ``R``.
    ``seed`` must be in ``[0, 2^64)`` and ``epoch`` in ``[0, 2^64 - 1)``.
    """
    uid_hash, entry_ids = np.asarray(uid_hash), np.asarray(entry_ids)
    shape = np.broadcast_shapes(uid_hash.shape, entry_ids.shape)
    r = _row_keys(seed, epoch, np.atleast_1d(uid_hash))  # 1-d: no numpy-scalar overflow warnings
    return _uniform_from_row_keys(r, np.atleast_1d(entry_ids)).reshape(shape)


# --- match sets as flat arrays -------------------------------------------------------------------


def _flatten(entry_ids: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, values)``: int64 offsets rebased to 0 (length rows + 1) and the flat entry ids.

    Handles sliced arrays (offset != 0), chunked arrays and large lists. A null list counts as an
    empty match set (the row is never kept).
    """
    if isinstance(entry_ids, pa.ChunkedArray):
        chunks = [_flatten(c) for c in entry_ids.chunks]
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


def _check_ids(values: np.ndarray, n_entries: int, what: str) -> None:
    if values.size and (int(values.min()) < 0 or int(values.max()) >= n_entries):
        raise MetacurateError(
            f"entry_ids hold ids in [{int(values.min())}, {int(values.max())}] but {what} has "
            f"{n_entries} entries; the side-car and entry_counts come from different metadata"
        )


def _check_rows(offsets: np.ndarray, uid_hash: np.ndarray) -> np.ndarray:
    uid_hash = _as_u64(uid_hash, "uid_hash")
    if uid_hash.shape != (len(offsets) - 1,):
        raise MetacurateError(
            f"uid_hash has shape {uid_hash.shape} but entry_ids has {len(offsets) - 1} rows; "
            "pass the uid_hash column of the same side-car batch"
        )
    return uid_hash


def _nonempty_starts(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of rows with at least one match and their start offsets (for ``ufunc.reduceat``)."""
    rows = np.flatnonzero(offsets[1:] > offsets[:-1])
    return rows, offsets[rows]


def _row_uniforms(
    offsets: np.ndarray, values: np.ndarray, uid_hash: np.ndarray, seed: int, epoch: int | None
) -> np.ndarray:
    """``u(seed[, epoch], uid, e)`` for every (row, e) pair, flat, aligned with ``values``."""
    r = _row_keys(seed, epoch, uid_hash)
    return _uniform_from_row_keys(np.repeat(r, np.diff(offsets)), values)


# --- per-entry probabilities and the keep decision -----------------------------------------------


def _check_counts(counts: np.ndarray) -> np.ndarray:
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


def _check_t(t: float) -> float:
    t = float(t)
    if not t > 0:  # also rejects NaN
        raise MetacurateError(f"t must be > 0, got {t}; pass a positive threshold such as 20000")
    return t


def entry_probs(counts: np.ndarray, t: float) -> np.ndarray:
    """``p_e = 1`` if ``count[e] < t`` else ``t / count[e]`` (float64; count 0 gives 1)."""
    t = _check_t(t)
    c = _check_counts(counts).astype(np.float64)
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
    offsets, values = _flatten(entry_ids)
    return _keep_mask_flat(
        offsets, values, _check_rows(offsets, uid_hash), _probs(p, values), seed, epoch
    )


def keep_prob(entry_ids: pa.Array | pa.ChunkedArray, p: np.ndarray) -> np.ndarray:
    """Per-row keep probability ``1 - prod_{e in M}(1 - p_e)`` (0 for empty rows, exactly 1 if any
    ``p_e == 1``)."""
    offsets, values = _flatten(entry_ids)
    return _keep_prob_flat(offsets, values, _probs(p, values))


def decide(
    entry_ids: pa.Array | pa.ChunkedArray,
    uid_hash: np.ndarray,
    p: np.ndarray,
    seed: int,
    epoch: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(keep_mask, keep_prob)`` of the same rows, flattening the match sets once."""
    offsets, values = _flatten(entry_ids)
    uid_hash = _check_rows(offsets, uid_hash)
    p = _probs(p, values)
    return (
        _keep_mask_flat(offsets, values, uid_hash, p, seed, epoch),
        _keep_prob_flat(offsets, values, p),
    )


def _probs(p: np.ndarray, values: np.ndarray) -> np.ndarray:
    p = np.ascontiguousarray(p, dtype=np.float64)
    _check_ids(values, len(p), "p")
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
        return np.frombuffer(
            kernel_call(
                "keep_mask",
                _native.keep_mask,
                np.ascontiguousarray(offsets, dtype=np.int64),
                np.ascontiguousarray(values, dtype=np.int32),
                np.ascontiguousarray(uid_hash, dtype=np.uint64),
                np.ascontiguousarray(p, dtype=np.float64),
                _key(seed, epoch),
            ),
            dtype=np.bool_,
        )
    hit = _row_uniforms(offsets, values, uid_hash, seed, epoch) < p[values]
    keep = np.zeros(len(offsets) - 1, bool)
    rows, starts = _nonempty_starts(offsets)
    if rows.size:
        keep[rows] = np.logical_or.reduceat(hit, starts)
    return keep


def _row_sums(offsets: np.ndarray, values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Per row, ``table[e]`` summed left to right over its match set (0.0 when empty); the same
    order in C and numpy, so both give the same bits."""
    if native_available():
        return np.frombuffer(
            kernel_call(
                "keep_prob",
                _native.row_sums,
                np.ascontiguousarray(offsets, dtype=np.int64),
                np.ascontiguousarray(values, dtype=np.int32),
                np.ascontiguousarray(table, dtype=np.float64),
            ),
            dtype=np.float64,
        )
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
    t = _check_t(t)
    c = _check_counts(counts).astype(np.float64)
    return float(np.minimum(c, t).sum())


# --- choosing t ----------------------------------------------------------------------------------


def tail_share(counts: np.ndarray, t: float) -> float:
    """``sum_{e: count[e] < t} count[e] / sum_e count[e]`` (0 when there are no matches)."""
    t = _check_t(t)
    c = _check_counts(counts)
    total = int(c.sum())
    if total == 0:
        return 0.0
    return int(c[c < t].sum()) / total


def t_for_tail_share(counts: np.ndarray, share: float) -> float:
    """The ``t`` whose :func:`tail_share` is closest to ``share``: the smallest such, ``>= 1``.

    ``tail_share`` is a step function of ``t`` that only changes at ``t = count + 1``, so the
    candidates are ``1`` and ``count + 1`` for each distinct count. Meta CLIP 2 uses
    ``t_for_tail_share(counts_lang, tail_share(counts_en, t_en))``.
    """
    share = float(share)
    if not 0.0 <= share <= 1.0:
        raise MetacurateError(f"share must be in [0, 1], got {share}")
    c = _check_counts(counts)
    total = int(c.sum())
    if total == 0:
        return 1.0
    # count-0 entries never change the share; it is 0 at t = 1 and sum(counts <= d) at t = d + 1
    distinct, multiplicity = np.unique(c[c > 0], return_counts=True)
    cum = np.cumsum(distinct * multiplicity)
    cand_t = np.concatenate(([1.0], distinct.astype(np.float64) + 1.0))
    cand_share = np.concatenate(([0.0], cum / total))
    return float(cand_t[int(np.argmin(np.abs(cand_share - share)))])  # first = smallest t on ties


def row_threshold(
    entry_ids: pa.Array | pa.ChunkedArray,
    uid_hash: np.ndarray,
    counts: np.ndarray,
    seed: int,
    epoch: int | None = None,
) -> np.ndarray:
    """Per-row threshold ``tau``: the row is kept by :func:`keep_mask` at ``t`` iff ``tau <= t``.

    For one matched entry the decision ``u < p_e(t)`` is monotone in ``t`` and flips once, at the
    smallest float ``t`` with ``fl(t / count) > u`` (about ``u * count``; ``0`` when ``count == 0``
    or ``u == 0``). The row's ``tau`` is the minimum over its entries; ``inf`` for empty rows. It is
    exact in float64, so ``keep_mask(..., entry_probs(counts, t), ...) == (tau <= t)`` for every
    ``t > 0`` (``t`` so small that ``t / count`` underflows aside). Compute it per side-car file
    and pass the arrays to :func:`t_for_target_size`.
    """
    offsets, values = _flatten(entry_ids)
    uid_hash = _check_rows(offsets, uid_hash)
    counts = _check_counts(counts)
    _check_ids(values, len(counts), "counts")
    u = _row_uniforms(offsets, values, uid_hash, seed, epoch)
    c = counts.astype(np.float64)[values]
    tau = _element_threshold(u, c)
    out = np.full(len(offsets) - 1, np.inf)
    rows, starts = _nonempty_starts(offsets)
    if rows.size:
        out[rows] = np.minimum.reduceat(tau, starts)
    return out


def _element_threshold(u: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Smallest float ``t`` with ``fl(t / c) > u``; 0 where ``c == 0`` or ``u == 0``.

    For ``t > c`` the rule gives ``p = 1 > u``; for ``t <= c`` it gives ``p = fl(t / c)``, which is
    monotone in ``t`` and reaches 1 at ``t = c``, so the answer is in ``(0, c]``. Start from
    ``fl(u * c)`` (within an ulp or two) and correct with nextafter steps.
    """
    tau = u * c
    free = (c == 0) | (u == 0)
    tau[free] = 0.0
    live = ~free
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(64):  # raise until kept
            bad = live & ~(tau / c > u)
            if not bad.any():
                break
            tau[bad] = np.nextafter(tau[bad], np.inf)
        else:  # pragma: no cover - fl(u*c) is within a few ulps
            raise RuntimeError("row_threshold: upward correction did not converge")
        for _ in range(64):  # lower while still kept
            lower = np.nextafter(tau, -np.inf)
            ok = live & (lower > 0) & (lower / c > u)
            if not ok.any():
                break
            tau[ok] = lower[ok]
        else:  # pragma: no cover
            raise RuntimeError("row_threshold: downward correction did not converge")
    return tau


def t_for_target_size(thresholds: np.ndarray | Sequence[np.ndarray], n: int) -> tuple[float, int]:
    """The ``t`` whose realised curated size is closest to ``n``, and that size.

    ``thresholds`` are the :func:`row_threshold` arrays of the pool (one per side-car file, in any
    order, or already concatenated). The realised size at ``t`` is ``#(tau <= t)``, so the answer is
    the ``n``-th smallest ``tau`` (or the float just below it when ties make that closer); exact,
    ``O(rows)`` via ``np.partition``. Ties in distance go to the smaller ``t``. Raises
    :class:`MetacurateError` when ``n`` exceeds the number of rows with at least one match.
    """
    if isinstance(thresholds, np.ndarray):
        tau = thresholds.astype(np.float64, copy=False).ravel()
    else:
        parts = [np.asarray(a, dtype=np.float64).ravel() for a in thresholds]
        tau = np.concatenate(parts) if parts else np.zeros(0, np.float64)
    n = int(n)
    if n < 1:
        raise MetacurateError(f"target size must be >= 1, got {n}")
    tau = tau[np.isfinite(tau)]
    reachable = len(tau)
    if n > reachable:
        where = f" (all of them are kept at t = {float(tau.max())!r})" if reachable else ""
        raise MetacurateError(
            f"target size {n} is unreachable: only {reachable} rows match at least one "
            f"entry{where}; ask for at most {reachable} rows"
        )
    kth = float(np.partition(tau, n - 1)[n - 1])
    candidates = [kth]
    below = float(np.nextafter(kth, -np.inf))
    if below > 0:
        candidates.insert(0, below)
    best_t, best_size = 0.0, -1
    for cand in candidates:  # smaller t first: wins ties
        size = int(np.count_nonzero(tau <= cand))
        if best_size < 0 or abs(size - n) < abs(best_size - n):
            best_t, best_size = cand, size
    if best_t <= 0:  # every chosen row has tau == 0: any t > 0 keeps them
        best_t = float(np.nextafter(0.0, 1.0))
        best_size = int(np.count_nonzero(tau <= best_t))
    return best_t, best_size
