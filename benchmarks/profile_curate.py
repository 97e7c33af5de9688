"""Where the CPU seconds of one ``metacurate curate`` go: the driver's phases and the workers.

    python benchmarks/profile_curate.py POOL METADATA [--tree DIR] [--workers 2] [--t 200]

Runs the CLI's ``main`` in a fresh process (``--tree DIR``: another source tree, its ``src`` on
PYTHONPATH, for before/after) into a new output folder with a fresh index cache, then once
more with that cache warm. The functions that implement the driver's phases are wrapped with
CPU-time counters (no profiler: its overhead distorts Python-heavy phases several-fold);
prints those, the driver's total and the worker processes' CPU seconds (``RUSAGE_CHILDREN``).
On a shared machine CPU seconds are steadier than wall seconds; both are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import importlib, json, resource, sys, time
wall0, cpu0 = time.perf_counter(), time.process_time()
import metacurate.cli, metacurate.api, metacurate.report
imported = time.process_time() - cpu0
spent = {}
PHASES = {
    "load metadata (json, checks, hash)": ["metacurate.metadata.load:load_metadata"],
    "matcher index (build/save or verify)": [
        "metacurate.match.index_cache:verified_index", "metacurate.match.matcher:load_or_build"
    ],
    "match stage, driver side (incl. index)": ["metacurate.match.driver:run_match"],
    "balance stage, driver side": ["metacurate.balance.driver:run_balance"],
    "report.html": ["metacurate.report.html:write_report"],
}
def timer(label, fn):
    def wrapped(*a, **k):
        c = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            spent[label] = spent.get(label, 0.0) + time.process_time() - c
    return wrapped
def patch(label, names):
    for spec in names:
        mod, _, name = spec.partition(":")
        try:
            fn = getattr(importlib.import_module(mod), name)
        except (ImportError, AttributeError):
            continue
        new = timer(label, fn)
        for m in list(sys.modules.values()):  # every module that imported the function
            if getattr(m, "__name__", "").startswith("metacurate"):
                for attr, value in list(m.__dict__.items()):
                    if value is fn:
                        setattr(m, attr, new)
        return  # the first name that exists in this tree
for label, names in PHASES.items():
    patch(label, names)
metacurate.cli.main(sys.argv[1:])
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "wall": time.perf_counter() - wall0,
    "driver_cpu": time.process_time() - cpu0,
    "workers_cpu": kids.ru_utime + kids.ru_stime,
    "import metacurate": imported,
    **{label: spent.get(label, 0.0) for label in PHASES},
}))
"""


def profile(tree: Path | None, args: argparse.Namespace, out: Path, cache: Path) -> dict:
    env = {**os.environ, "METACURATE_CACHE": str(cache)}
    if tree is not None:
        env["PYTHONPATH"] = str(tree / "src")
    cmd = [sys.executable, "-c", CHILD, "curate", args.pool, "--metadata", args.metadata]
    cmd += ["--out", str(out), "--t", str(args.t), "--workers", str(args.workers)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("pool")
    ap.add_argument("metadata")
    ap.add_argument("--tree", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--t", type=float, default=200.0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="profile_curate_"))
    runs = {
        "cold cache": profile(args.tree, args, work / "a", work / "cache"),
        "warm cache": profile(args.tree, args, work / "b", work / "cache"),
    }
    print(f"{'':40s}" + "".join(f"{k:>14s}" for k in runs))
    for key in runs["cold cache"]:
        label = f"{key} (s)" if key in ("wall", "driver_cpu", "workers_cpu") else f"  {key}"
        print(f"{label:40s}" + "".join(f"{r[key]:14.2f}" for r in runs.values()))
    subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
