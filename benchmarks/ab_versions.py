"""A/B of two source trees on the same benchmark, alternating runs, median ratio.

    python benchmarks/ab_versions.py --rounds 3 OLD_TREE NEW_TREE bench_curate.py --rows 200000

Each round runs ``OLD_TREE/benchmarks/SCRIPT ARGS`` then the new one (PYTHONPATH set to each
tree's ``src``; the compiled kernel must be built in place in each tree), and reads the
``metacurate curate ...: X s`` and ``baseline ...: Y s`` lines that bench_curate.py prints.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys

OURS = re.compile(r"metacurate curate \(workers=\d+\):\s+([\d.]+)s")
BASE = re.compile(r"official-style[^:]*:\s+([\d.]+)s")


def run(tree: str, script: list[str]) -> tuple[float, float | None]:
    env = {**os.environ, "PYTHONPATH": f"{tree}/src:{tree}/benchmarks"}
    out = subprocess.run(
        [sys.executable, f"{tree}/benchmarks/{script[0]}", *script[1:]],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    ours = float(OURS.search(out)[1])
    base = BASE.search(out)
    return ours, float(base[1]) if base else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("script", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    script = [s for s in a.script if s != "--"]
    rows = {"old": [], "new": []}
    for k in range(a.rounds):
        for name, tree in (("old", a.old), ("new", a.new)):
            ours, base = run(tree, script)
            rows[name].append((ours, base))
            ratio = f"  end-to-end vs baseline {base / ours:.2f}x" if base else ""
            print(f"round {k} {name}: curate {ours:.2f}s{ratio}", flush=True)
    for name in ("old", "new"):
        ratios = [b / o for o, b in rows[name] if b]
        if ratios:
            print(f"{name}: median end-to-end ratio vs baseline {statistics.median(ratios):.2f}x")
    speed = [o / n for (o, _), (n, _) in zip(rows["old"], rows["new"], strict=True)]
    print(f"median old/new curate time: {statistics.median(speed):.3f} (>1: new is faster)")


if __name__ == "__main__":
    main()
