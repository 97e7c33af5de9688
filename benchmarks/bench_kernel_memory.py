"""Kernel memory and speed, before and after the streamed token window (issue 16), same run.

    python benchmarks/bench_kernel_memory.py [--old-commit 81d4d41] [--rounds 7]

Builds the kernel of ``--old-commit`` and the current one from source with the same flags
(fuzz/build_kernel.py) into a temporary folder and loads both. With the built-in metadata
(338,119 entries):

- peak memory added by matching one 40 MB caption of commas, and a batch of 65,536 real captions
  (the LAION sample in shared/data repeated), each in a fresh process (VmHWM after resetting it,
  minus VmRSS before: what the match call itself added);
- matching speed on that batch: old and new alternate ``--rounds`` times in this process on the
  same Arrow buffers; the median of the per-round ratios is printed. Every round checks that both
  kernels return identical ids.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "fuzz"))
import build_kernel  # noqa: E402

LAION = "data/captions/laion_sample_10k.parquet"
BATCH = 65_536


def load_kernel(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(f"{name}._native", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build_both(tmp: Path, old_commit: str) -> dict[str, Path]:
    old_src = tmp / "old_native.c"
    old_src.write_text(
        subprocess.run(
            ["git", "-C", str(REPO), "show", f"{old_commit}:src/metacurate/kernel/_native.c"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    out = {}
    for name, src in (("old", old_src), ("new", build_kernel.SOURCE)):
        out[name] = build_kernel.compile_kernel(src, tmp / f"{name}{suffix}")
    return out


def tables():
    from metacurate import Matcher
    from metacurate.metadata import load_default_metadata

    m = Matcher(load_default_metadata(), native=True)
    t = m._tables
    ids = t["ids"] if len(t["ids"]) else None
    return [t["slots"], t["tags"], t["blob"], ids, int(t["mask"][0])], m.n_entries


def call(kernel, which: str, table, n_entries: int, arr: pa.Array):
    validity, offsets, data = arr.buffers()[:3]
    is64 = pa.types.is_large_string(arr.type)
    rows = [offsets, is64, data, validity if arr.null_count else None, arr.offset, len(arr)]
    if which == "old":
        return kernel.match(*table, *rows)
    return kernel.match(*table, n_entries, *rows)


def laion_batch(shared: Path) -> pa.Array:
    texts = pq.read_table(shared / LAION, columns=["TEXT"]).column(0).combine_chunks()
    reps = -(-BATCH // len(texts))
    return pa.concat_arrays([texts] * reps).slice(0, BATCH)


def status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    raise RuntimeError(key)


def child(which: str, path: Path, case: str, shared: Path) -> None:
    """One measurement in a fresh process: print JSON with the bytes the match call added."""
    kernel = load_kernel(path, which)
    table, n_entries = tables()
    if case == "commas":
        arr = pa.array(["," * (40 * 10**6)], type=pa.large_string())
    else:
        arr = laion_batch(shared)
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # free heap back to the OS: growth shows in RSS
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = status("VmRSS:")
    t0 = time.perf_counter()
    out = call(kernel, which, table, n_entries, arr)
    seconds = time.perf_counter() - t0
    added = status("VmHWM:") - before
    print(json.dumps({"added": added, "seconds": seconds, "ids": len(out[1]) // 4}))


def measure_memory(paths: dict[str, Path], shared: Path) -> None:
    for case, label in (("commas", "one 40 MB caption of commas"), ("laion", f"{BATCH:,} LAION")):
        got = {}
        for which in ("old", "new"):
            cmd = [sys.executable, __file__, "--child", which, str(paths[which]), case]
            cmd += ["--shared", str(shared)]
            got[which] = json.loads(subprocess.run(cmd, capture_output=True, check=True).stdout)
        assert got["old"]["ids"] == got["new"]["ids"], got
        print(
            f"peak memory added, {label}: old {got['old']['added'] / 2**20:,.2f} MiB  "
            f"new {got['new']['added'] / 2**20:,.2f} MiB  "
            f"(match time old {got['old']['seconds']:.2f}s new {got['new']['seconds']:.2f}s)"
        )


def same_tables(kernels: dict) -> None:
    """Both kernels build byte-identical tables from the same entries (same cache layout)."""
    from metacurate.metadata import load_default_metadata

    entries = pa.array(load_default_metadata().entries, type=pa.large_string())
    blob, offsets = entries.buffers()[2], entries.buffers()[1]
    built = {w: k.build(blob, offsets) for w, k in kernels.items()}
    assert built["old"] == built["new"], "old and new kernels build different tables"
    print("tables built by old and new kernels: identical")


def measure_speed(paths: dict[str, Path], shared: Path, rounds: int) -> None:
    kernels = {w: load_kernel(p, w) for w, p in paths.items()}
    same_tables(kernels)
    table, n_entries = tables()
    arr = laion_batch(shared)
    times: dict[str, list[float]] = {"old": [], "new": []}
    for r in range(rounds):
        outs = {}
        for which in ("old", "new") if r % 2 == 0 else ("new", "old"):
            t0 = time.perf_counter()
            outs[which] = call(kernels[which], which, table, n_entries, arr)
            times[which].append(time.perf_counter() - t0)
        assert outs["old"] == outs["new"], "old and new kernels differ"
    ratios = [o / n for o, n in zip(times["old"], times["new"], strict=True)]
    for which in ("old", "new"):
        rate = BATCH / statistics.median(times[which])
        print(f"{which} kernel: {rate:>12,.0f} captions/s (median of {rounds})")
    print(f"speed ratio new/old (median of per-round ratios): {statistics.median(ratios):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--old-commit", default="81d4d41")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--child", nargs=3, metavar=("WHICH", "PATH", "CASE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.child[2], args.shared)
        return
    if not (args.shared / LAION).exists():
        sys.exit(f"{args.shared / LAION} not found: pass --shared (METACURATE_SHARED)")
    with tempfile.TemporaryDirectory() as tmp:
        paths = build_both(Path(tmp), args.old_commit)
        measure_memory(paths, args.shared)
        measure_speed(paths, args.shared, args.rounds)


if __name__ == "__main__":
    main()
