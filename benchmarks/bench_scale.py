"""Scaling: match, balance and end-to-end rows/s at several pool sizes, 1 and 2 workers,
peak memory of the driver and of a worker, and a cost model for 400M and 2.5B rows.

    python benchmarks/bench_scale.py [--sizes 100000,1000000,10000000] [--workers 1,2]

Pools are generated (synth.py) in files of 1M rows; the metadata has ~500k entries. Each
configuration runs in a fresh process so peak-memory numbers are its own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synth  # noqa: E402

FILE_ROWS = 1_000_000


def make_pool(root: Path, rows: int, vocab: list[str]) -> list[str]:
    paths = []
    for i, lo in enumerate(range(0, rows, FILE_ROWS)):
        n = min(FILE_ROWS, rows - lo)
        texts = synth.captions(n, vocab, seed=100 + i)
        p = root / f"pool-{i:04d}.parquet"
        pq.write_table(
            pa.table(
                {"url": [f"https://img.example/{lo + j}.jpg" for j in range(n)], "text": texts}
            ),
            p,
            row_group_size=128_000,
        )
        paths.append(str(p))
    return paths


def _status_kb(pid: int | str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class WorkerPeak(threading.Thread):
    """Polls this process's child processes (the workers) for their resident memory.

    ``ru_maxrss`` is no use here: across fork and exec Linux carries the parent's peak over."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb = 0
        self.stop = threading.Event()

    def run(self) -> None:
        me = str(os.getpid())
        while not self.stop.wait(0.1):
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    ppid = stat.read_text().rsplit(")", 1)[1].split()[1]
                except (OSError, IndexError):
                    continue
                if ppid == me:
                    self.peak_kb = max(self.peak_kb, _status_kb(stat.parent.name, "VmRSS"))


def run_one(args: argparse.Namespace) -> None:
    """Child mode: match then balance; print one JSON line."""
    from metacurate.api import balance_workdir, match_pool
    from metacurate.metadata import load_metadata

    workers_peak = WorkerPeak()
    workers_peak.start()
    metadata = load_metadata(args.metadata)
    pool = json.loads(Path(args.pool_list).read_text())
    t0 = time.perf_counter()
    stats = match_pool(pool, args.out, metadata=metadata, workers=args.run_workers, progress=False)
    t_match = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = balance_workdir(args.out, t=args.t, workers=args.run_workers, progress=False)
    t_balance = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "rows": stats["rows"],
                "kept": m["curated_rows"],
                "match_s": t_match,
                "balance_s": t_balance,
                "driver_rss_mb": _status_kb("self", "VmHWM") / 1024,
                "worker_rss_mb": workers_peak.peak_kb / 1024,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="100000,1000000,10000000")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--entries", type=int, default=500_000)
    ap.add_argument("--t", type=float, default=500.0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--metadata", help=argparse.SUPPRESS)
    ap.add_argument("--pool-list", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--run-workers", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_one(args)
        return

    sizes = [int(x) for x in args.sizes.split(",")]
    workers = [int(x) for x in args.workers.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    try:
        vocab = synth.vocabulary(400_000)
        entries = synth.metadata(args.entries, vocab, synth.captions(200_000, vocab, seed=99))
        md_path = tmp / "metadata.json"
        md_path.write_text(json.dumps(entries))
        t0 = time.perf_counter()
        all_paths = make_pool(tmp, max(sizes), vocab)
        print(
            f"generated {max(sizes):,} rows in {len(all_paths)} files "
            f"({time.perf_counter() - t0:.0f}s); metadata {len(entries):,} entries"
        )
        rows_out = []
        for size in sizes:
            if size < FILE_ROWS:  # a smaller pool: the first rows of the first file
                p = tmp / f"small-{size}.parquet"
                pq.write_table(pq.read_table(all_paths[0]).slice(0, size), p)
                paths = [str(p)]
            else:
                paths = all_paths[: size // FILE_ROWS]
            pool_list = tmp / f"pool-{size}.json"
            pool_list.write_text(json.dumps(paths))
            for w in workers:
                out = tmp / f"out-{size}-{w}"
                t0 = time.perf_counter()
                r = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        "--metadata",
                        str(md_path),
                        "--pool-list",
                        str(pool_list),
                        "--out",
                        str(out),
                        "--run-workers",
                        str(w),
                        "--t",
                        str(args.t),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                wall = time.perf_counter() - t0
                res = json.loads(r.stdout.strip().splitlines()[-1])
                res.update(size=size, workers=w, wall_s=wall)
                rows_out.append(res)
                print(
                    f"rows {size:>11,}  workers {w}  match {size / res['match_s']:>9,.0f} rows/s"
                    f"  balance {size / res['balance_s']:>9,.0f} rows/s  end-to-end "
                    f"{size / (res['match_s'] + res['balance_s']):>9,.0f} rows/s  "
                    f"driver {res['driver_rss_mb']:,.0f} MB  "
                    f"worker {res['worker_rss_mb']:,.0f} MB"
                    f"  (kept {res['kept']:,})"
                )
                shutil.rmtree(out, ignore_errors=True)
        big = max(sizes)
        by_w = {r["workers"]: r for r in rows_out if r["size"] == big}
        if 1 in by_w:
            per_core = big / (by_w[1]["match_s"] + by_w[1]["balance_s"])
            print(f"\nend-to-end at {big:,} rows: {per_core:,.0f} rows/s on 1 worker")
            if 2 in by_w:
                two = big / (by_w[2]["match_s"] + by_w[2]["balance_s"])
                eff = two / per_core
                print(f"2 workers: {two:,.0f} rows/s, speed-up {eff:.2f}x")
            else:
                eff = 1.0
            small = [r for r in rows_out if r["workers"] == 1]
            rates = [r["size"] / (r["match_s"] + r["balance_s"]) for r in small]
            pairs = zip(small, rates, strict=True)
            print(
                "rows/s on 1 worker by size: "
                + ", ".join(f"{r['size']:,}: {x:,.0f}" for r, x in pairs)
            )
            for total in (400e6, 2.5e9):
                for cores in (2, 64, 512):
                    speed = per_core * (eff / 2 * cores if cores > 1 else 1)
                    print(
                        f"cost model: {total / 1e6:,.0f}M rows on {cores} cores: "
                        f"{total / speed / 60:,.1f} min"
                    )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
