"""Choosing ``t``: from a tail share, or from a target curated size (exact, per-row
thresholds), and the tail share of a ``t``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from metacurate.balance.rule import (
    check_counts,
    check_ids,
    check_rows,
    check_t,
    flatten,
    nonempty_starts,
    row_uniforms,
)
from metacurate.errors import MetacurateError

# --- choosing t ----------------------------------------------------------------------------------


def tail_share(counts: np.ndarray, t: float) -> float:
    """``sum_{e: count[e] < t} count[e] / sum_e count[e]`` (0 when there are no matches)."""
    t = check_t(t)
    c = check_counts(counts)
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
    c = check_counts(counts)
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
    offsets, values = flatten(entry_ids)
    uid_hash = check_rows(offsets, uid_hash)
    counts = check_counts(counts)
    check_ids(values, len(counts), "counts")
    u = row_uniforms(offsets, values, uid_hash, seed, epoch)
    c = counts.astype(np.float64)[values]
    tau = _element_threshold(u, c)
    out = np.full(len(offsets) - 1, np.inf)
    rows, starts = nonempty_starts(offsets)
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
