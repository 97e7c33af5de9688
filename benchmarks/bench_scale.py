"""Scaling: match, balance and end-to-end rows/s at pool sizes up to 100M rows, peak memory of
the driver and of the largest worker, bytes read and written, and a cost model for 1B and 10B
rows on N nodes.

    python benchmarks/bench_scale.py [--sizes 100000,1000000,10000000] [--workers 1,2]
    python benchmarks/bench_scale.py --sizes 10000000,100000000 --workers 2 \
        --baseline-size 10000000

Pools are generated (scale_pool.py: caption lengths drawn from the real captions in
$METACURATE_SHARED/data/captions, or a documented fixed distribution) in files of 1M rows under
/tmp, written once and shared by every size (a size takes a prefix of the files); the metadata
has ~500k entries (synth.py). Each configuration runs in a fresh process so peak-memory numbers
are its own. ``--baseline-size`` adds a 1-worker run at that size to measure the 1 -> 2 worker
speed-up used by the cost model. Everything generated is removed at the end (unless
``--keep-pool``).
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
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scale_pool  # noqa: E402
import synth  # noqa: E402

FILE_ROWS = scale_pool.FILE_ROWS


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


KINDS = ("side-cars", "counts", "decisions", "curated", "other")


def bytes_by_kind(out: Path) -> dict[str, int]:
    """Bytes under the output folder: match side-cars, counts (partial and merged), balance
    decisions, curated rows, and the rest (stats, manifest, metadata, uids)."""
    sizes = dict.fromkeys(KINDS, 0)
    for f in out.rglob("*"):
        if not f.is_file():
            continue
        rel = f.relative_to(out).as_posix()
        if rel.endswith("counts.parquet") or rel.startswith("counts/"):
            kind = "counts"
        elif rel.startswith("matches/"):
            kind = "side-cars"
        elif rel.startswith("balance/"):
            kind = "decisions"
        elif rel.startswith("curated/"):
            kind = "curated"
        else:
            kind = "other"
        sizes[kind] += f.stat().st_size
    return sizes


def run_config(md: Path, paths: list[str], out: Path, workers: int, t: float) -> dict:
    """One match + balance in a fresh process; its JSON result plus bytes in and out."""
    pool_list = out.parent / f"{out.name}.json"
    pool_list.write_text(json.dumps(paths))
    cmd = [sys.executable, __file__, "--child", "--metadata", str(md), "--pool-list"]
    cmd += [str(pool_list), "--out", str(out), "--run-workers", str(workers), "--t", str(t)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res.update(workers=workers, wall_s=time.perf_counter() - t0)
    res["input_bytes"] = sum(Path(p).stat().st_size for p in paths)
    res["written"] = bytes_by_kind(out)
    shutil.rmtree(out, ignore_errors=True)
    pool_list.unlink()
    return res


def report(res: dict) -> None:
    n = res["rows"]
    print(
        f"rows {n:>11,}  workers {res['workers']}  match {n / res['match_s']:>9,.0f} rows/s"
        f"  balance {n / res['balance_s']:>9,.0f} rows/s  end-to-end "
        f"{n / (res['match_s'] + res['balance_s']):>9,.0f} rows/s  "
        f"driver {res['driver_rss_mb']:,.0f} MB  worker {res['worker_rss_mb']:,.0f} MB"
        f"  (kept {res['kept']:,}; match {res['match_s']:,.0f} s, "
        f"balance {res['balance_s']:,.0f} s)"
    )
    w = res["written"]
    print(
        f"    bytes in {res['input_bytes'] / 1e9:,.2f} GB; written "
        + ", ".join(f"{k} {w[k] / 1e9:,.3f} GB" for k in KINDS)
        + f"; total {sum(w.values()) / 1e9:,.2f} GB"
    )


def cost_model(res: dict, speedup: float | None, node_gbs: float) -> None:
    """Minutes for 1B and 10B rows on N nodes of c cores, from the largest run."""
    n, w = res["rows"], res["workers"]
    per_worker = n / (res["match_s"] + res["balance_s"]) / w
    io_per_row = (res["input_bytes"] + sum(res["written"].values())) / n
    print(
        f"\ncost model from {n:,} rows on {w} workers: {per_worker:,.0f} rows/s per worker "
        f"(efficiency at {w} workers included), {io_per_row:,.0f} bytes read+written per row"
    )
    if speedup is not None:
        print(f"measured 1 -> 2 worker speed-up: {speedup:.2f}x (efficiency {speedup / 2:.2f})")
    print(f"I/O at {node_gbs:g} GB/s per node, counted apart (overlaps compute in practice)")
    for total in (1e9, 1e10):
        for nodes in (1, 8, 64):
            for cores in (2, 16, 64):
                comp = total / (per_worker * nodes * cores) / 60
                io = total * io_per_row / (node_gbs * 1e9 * nodes) / 60
                print(
                    f"cost model: {total / 1e9:g}B rows, {nodes:>2} nodes x {cores:>2} cores: "
                    f"compute {comp:>8,.1f} min, I/O {io:>7,.1f} min, "
                    f"{nodes * cores * comp / 60:>6,.0f} core-hours"
                )


def prepare(tmp: Path, pool_dir: Path, rows: int, entries: int) -> tuple[Path, list[str]]:
    """Metadata and pool files (generated once; a size takes a prefix)."""
    real = scale_pool.real_captions()
    model = scale_pool.length_model(real)
    vocab = scale_pool.vocabulary(400_000, model)
    sample = scale_pool.file_table(0, model, scale_pool.Surfaces(vocab)).column("text")
    texts = sample.slice(0, 200_000).to_pylist()
    print(f"caption lengths: {model['source']}")
    if real is not None:
        print(f"    real      {scale_pool.length_summary(real)}")
    print(f"    generated {scale_pool.length_summary(texts)}")
    md = tmp / "metadata.json"
    md.write_text(json.dumps(synth.metadata(entries, vocab, texts)))
    t0 = time.perf_counter()
    tag = f"{model['source']}|{FILE_ROWS}|v1"
    paths = scale_pool.make_pool(pool_dir, rows, model, vocab, tag)
    size = sum(Path(p).stat().st_size for p in paths)
    print(
        f"pool: {rows:,} rows in {len(paths)} files, {size / 1e9:,.1f} GB "
        f"({time.perf_counter() - t0:.0f}s to generate or reuse); metadata {entries:,} entries"
    )
    return md, paths


def pool_for(tmp: Path, paths: list[str], size: int) -> list[str]:
    if size >= FILE_ROWS:
        return paths[: size // FILE_ROWS]
    p = tmp / f"small-{size}.parquet"  # a smaller pool: the first rows of the first file
    pq.write_table(pq.read_table(paths[0]).slice(0, size), p)
    return [str(p)]


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="100000,1000000,10000000")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--baseline-size", type=int, help="also run 1 worker at this size")
    ap.add_argument("--entries", type=int, default=500_000)
    ap.add_argument("--t", type=float, default=500.0)
    ap.add_argument("--pool-dir", help="where the pool files go (default: a folder in /tmp)")
    ap.add_argument("--keep-pool", action="store_true", help="keep the pool files for reuse")
    ap.add_argument("--node-gbs", type=float, default=1.0, help="I/O GB/s per node (model)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--metadata", help=argparse.SUPPRESS)
    ap.add_argument("--pool-list", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--run-workers", type=int, help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> None:
    args = parse()
    if args.child:
        run_one(args)
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    workers = [int(x) for x in args.workers.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench_scale_", dir="/tmp"))
    pool_dir = Path(args.pool_dir) if args.pool_dir else tmp / "pool"
    print(f"disk free before: {shutil.disk_usage('/tmp').free / 1e9:,.1f} GB")
    try:
        md, paths = prepare(tmp, pool_dir, max(sizes), args.entries)
        runs = [(s, w) for s in sizes for w in workers]
        if args.baseline_size and (args.baseline_size, 1) not in runs:
            runs.insert(0, (args.baseline_size, 1))
        results = {}
        for size, w in runs:
            res = run_config(md, pool_for(tmp, paths, size), tmp / f"out-{size}-{w}", w, args.t)
            results[size, w] = res
            report(res)
        big = max(sizes)
        base = args.baseline_size or big
        speedup = None
        if (base, 1) in results and (base, 2) in results:
            r1, r2 = results[base, 1], results[base, 2]
            speedup = (r1["match_s"] + r1["balance_s"]) / (r2["match_s"] + r2["balance_s"])
        cost_model(results[big, max(workers)], speedup, args.node_gbs)
        free = shutil.disk_usage("/tmp").free / 1e9
        print(f"disk free at the end (before clean-up): {free:,.1f} GB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if args.pool_dir and not args.keep_pool:
            shutil.rmtree(pool_dir, ignore_errors=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
