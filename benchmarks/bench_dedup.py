"""``curate --dedup``: peak memory against the pool size at a fixed dedup budget, and the CPU
cost with and without it (core-hours per billion rows).

    python benchmarks/bench_dedup.py [--sizes 250000,1000000,4000000] [--budget-mb 16]

Each pool has ``--dup-share`` of its rows repeated: a copy of an earlier (url, text) pair with
another ``crawl`` value, as the same pair found again in a later Common Crawl snapshot; rows
shuffled and written in files of ``--file-rows`` rows (captions with real-caption lengths,
scale_pool.py; ~500k-entry metadata, synth.py). For each size, ``curate`` (the Python API, no
report) runs in a fresh process with one worker (the process does every task itself), ``t = 500``,
without and with ``dedup=True, dedup_memory_mb=BUDGET``; its peak resident set
(``VmHWM``), its CPU time (user + system) and wall time are printed. The pool's keys alone
(uid, hashes, row: about 256 bytes a row in a partition task) are many times the budget at the
larger sizes, so a flat peak shows that the partitions, not the pool, bound memory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scale_pool  # noqa: E402
import synth  # noqa: E402


def make_pool(root: Path, rows: int, dup_share: float, file_rows: int, seed: int) -> list[str]:
    """``rows`` rows, ``dup_share`` of them copies of others (another ``crawl`` value)."""
    model = scale_pool.length_model(scale_pool.real_captions())
    vocab = scale_pool.vocabulary(400_000, model)
    surfaces = scale_pool.Surfaces(vocab)
    unique = int(rows * (1 - dup_share))
    base = [scale_pool.file_table(i, model, surfaces) for i in range(-(-unique // 1_000_000))]
    table = pa.concat_tables(base).slice(0, unique)
    rng = np.random.default_rng(seed)
    copies = table.take(pa.array(rng.integers(0, unique, rows - unique)))
    table = pa.concat_tables(
        [
            table.append_column("crawl", pa.array(np.zeros(unique, np.int32))),
            copies.append_column("crawl", pa.array(rng.integers(1, 5, rows - unique, np.int32))),
        ]
    ).take(pa.array(rng.permutation(rows)))
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, start in enumerate(range(0, rows, file_rows)):
        p = root / f"pool-{k:04d}.parquet"
        pq.write_table(table.slice(start, file_rows), p)
        paths.append(str(p))
    return paths


def child(spec: str) -> None:
    """One ``curate`` through the API in this fresh process (one worker: no other process,
    no report); prints its wall time, CPU time and peak RSS as JSON."""
    import resource

    from metacurate.api import curate

    a = json.loads(spec)
    t0 = time.perf_counter()
    curate(a["pool"], a["out"], metadata=a["metadata"], t=a["t"], workers=1, report=False,
           dedup=a["dedup"], dedup_memory_mb=a["budget_mb"])  # fmt: skip
    wall = time.perf_counter() - t0
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork + exec
    with open("/proc/self/status") as f:
        hwm = next(ln for ln in f if ln.startswith("VmHWM:"))
    print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": int(hwm.split()[1]) / 1024}))


def run(spec: dict) -> dict:
    """``curate`` in a fresh process (its numbers only, not the pool generator's)."""
    cmd = [sys.executable, __file__, "--child", json.dumps(spec)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"curate failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="250000,1000000,4000000")
    ap.add_argument("--budget-mb", type=int, default=16)
    ap.add_argument("--dup-share", type=float, default=0.3)
    ap.add_argument("--file-rows", type=int, default=250_000)
    ap.add_argument("--entries", type=int, default=500_000)
    ap.add_argument("--t", type=float, default=500.0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-dedup-"))
    try:
        model = scale_pool.length_model(scale_pool.real_captions())
        vocab = scale_pool.vocabulary(400_000, model)
        texts = scale_pool.file_table(0, model, scale_pool.Surfaces(vocab)).column("text")
        md = tmp / "metadata.json"
        md.write_text(json.dumps(synth.metadata(args.entries, vocab, texts[:200_000].to_pylist())))
        print(f"budget {args.budget_mb} MiB; duplicate share {args.dup_share}; one worker")
        warm = make_pool(tmp / "warm", 1000, args.dup_share, 1000, 0)  # the index, built once
        run({"pool": warm, "out": str(tmp / "warm-out"), "metadata": str(md), "t": args.t,
             "dedup": False, "budget_mb": args.budget_mb})  # fmt: skip
        for size in (int(s) for s in args.sizes.split(",")):
            pool = make_pool(tmp / f"pool-{size}", size, args.dup_share, args.file_rows, size)
            keys_mb = size * 256 / 2**20
            for dedup in (False, True):
                out = tmp / f"out-{size}-{int(dedup)}"
                spec = {"pool": pool, "out": str(out), "metadata": str(md), "t": args.t}
                r = run({**spec, "dedup": dedup, "budget_mb": args.budget_mb})
                m = json.loads((out / "manifest.json").read_text())
                d = m.get("dedup") or {}
                core_h = r["cpu"] / size * 1e9 / 3600
                print(
                    f"rows {size:>10,}  dedup {'on ' if dedup else 'off'}  "
                    f"partitions {d.get('partitions', '-'):>4}  "
                    f"removed {d.get('rows_removed', 0):>9,}  wall {r['wall']:6.1f} s  "
                    f"cpu {r['cpu']:6.1f} s  peak RSS {r['rss_mb']:6.0f} MB  "
                    f"keys/budget {keys_mb / args.budget_mb:5.1f}x  "
                    f"core-h per 1B rows {core_h:6.1f}"
                )
                shutil.rmtree(out)
            shutil.rmtree(tmp / f"pool-{size}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
