"""Time the balancing keep decision on synthetic side-car data.

    .venv/bin/python benchmarks/bench_balance.py [--rows 5000000]

Rows match 1-5 Zipf-distributed entries (ids unique per row, like the match stage writes). Prints
rows/s for ``keep_mask`` (the per-batch decision of the balance stage) and for ``row_threshold``
(used once per pool to pick ``t`` for a target size). Single process; numpy elementwise kernels.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyarrow as pa

from metacurate.balance import entry_probs, keep_mask, row_threshold


def synthetic_pool(
    n_rows: int, n_entries: int, seed: int
) -> tuple[pa.ListArray, np.ndarray, np.ndarray]:
    """(entry_ids list array, uid_hash, counts) with Zipf entry frequencies, 1-5 ids per row."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 6, n_rows)
    rows = np.repeat(np.arange(n_rows), lengths)
    ids = (rng.zipf(1.3, len(rows)) - 1) % n_entries
    order = np.lexsort((ids, rows))
    rows, ids = rows[order], ids[order]
    keep = np.ones(len(ids), bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (ids[1:] != ids[:-1])
    rows, ids = rows[keep], ids[keep]
    offsets = np.zeros(n_rows + 1, np.int32)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=offsets[1:])
    entry_ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(ids.astype(np.int32)))
    uid_hash = rng.integers(0, 2**64, n_rows, dtype=np.uint64)
    counts = np.bincount(ids, minlength=n_entries).astype(np.int64)
    return entry_ids, uid_hash, counts


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--entries", type=int, default=500_000)
    ap.add_argument("--t", type=float, default=1000.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    entry_ids, uid_hash, counts = synthetic_pool(args.rows, args.entries, seed=0)
    p = entry_probs(counts, args.t)
    n, m = len(entry_ids), len(entry_ids.values)
    print(f"rows={n:,} matches={m:,} ({m / n:.2f}/row) entries={args.entries:,} t={args.t:g}")

    kept = int(keep_mask(entry_ids, uid_hash, p, seed=0).sum())
    s = best_of(lambda: keep_mask(entry_ids, uid_hash, p, seed=0), args.repeats)
    print(f"keep_mask:     {s:.3f} s  {n / s / 1e6:.2f} M rows/s  (kept {kept:,})")
    s = best_of(lambda: row_threshold(entry_ids, uid_hash, counts, seed=0), args.repeats)
    print(f"row_threshold: {s:.3f} s  {n / s / 1e6:.2f} M rows/s")


if __name__ == "__main__":
    main()
