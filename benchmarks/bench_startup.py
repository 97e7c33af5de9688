"""What the start-up measures of engine/startup.py and match/ahead.py do, measured (not
tested: which modules are imported when, and Python's gc threshold, are means, not contracts).

    python benchmarks/bench_startup.py [--rounds 5]

Prints, each in a fresh process: a tuned process's Arrow allocator, whether pyarrow's pandas
probe ran and the gc threshold; whether a `curate` without a terminal imported tqdm; which of
the report's modules were imported when the local engine forked its workers; the head-start
thread's "later" imports; and the median wall time of a tiny `curate` (start-up dominated).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TUNED = r"""
import gc, sys
import pyarrow as pa
{call}
pa.table({{"a": [1]}})
print(pa.default_memory_pool().backend_name, "pandas" in sys.modules, gc.get_threshold()[0])
"""

FORKED_WITH = r"""
import sys
import metacurate.engine.local as local
seen = {}
warm = local.LocalEngine.warm
def recording(self, n):
    seen.update((m, m in sys.modules) for m in ("numpy.ma", "metacurate.report.html", "tqdm"))
    return warm(self, n)
local.LocalEngine.warm = recording
from metacurate.cli import main
assert main(sys.argv[1:]) == 0
print(sorted(m for m, there in seen.items() if there), "tqdm" in sys.modules)
"""


def _py(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    plain = _py(TUNED.format(call=""))
    tuned = _py(
        TUNED.format(call="from metacurate.engine.startup import tune_process\ntune_process()")
    )
    print(f"plain process: allocator, pandas probed, gc threshold: {plain}")
    print(f"tuned process: allocator, pandas probed, gc threshold: {tuned}")
    with tempfile.TemporaryDirectory() as tmp:
        pool = Path(tmp) / "pool"
        pool.mkdir()
        for i in range(2):
            pq.write_table(pa.table({"text": [f"a dog {i}", "a cat"] * 50}), pool / f"p{i}.parquet")
        md = Path(tmp) / "m.txt"
        md.write_text("dog\ncat\n")
        argv = ["curate", str(pool), "--metadata", str(md), "--t", "1", "--workers", "2"]
        seen = _py(FORKED_WITH, *argv, "--out", str(Path(tmp) / "o"))
        print(f"imported when the workers forked, and tqdm without a terminal: {seen}")
        times = []
        for r in range(args.rounds):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "metacurate", *argv, "--out", str(Path(tmp) / f"t{r}")],
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - started)
        print(f"tiny curate (200 rows, 2 workers): median {statistics.median(times):.3f} s wall")


if __name__ == "__main__":
    main()
