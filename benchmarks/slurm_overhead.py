"""Per-task overhead of the Slurm engine: submission to completion of an empty task.

    python benchmarks/slurm_overhead.py [--tasks 16] [--repeat 3] [--partition NAME]

Runs on a machine with Slurm (CI's single-node one: ``bash .ci/slurm.sh start``), through
the engine's whole path (the task pickled, ``sbatch``, scheduling, a fresh Python on the
node importing the task's module, the result file read back by the driver):

- latency: one empty task (a one-element map), from ``map`` to its result, ``--repeat``
  times;
- throughput: ``--tasks`` empty tasks as one array, as many running at once as the
  partition has CPUs: the wall time times the running slots over the tasks is what each task
  costs a slot besides its work.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from metacurate.config import EngineConfig  # noqa: E402
from metacurate.engine import open_engine  # noqa: E402


def empty_task(item: int, checkpoint) -> int:  # noqa: ANN001 - the engine's task signature
    """No work: what is measured is everything around it."""
    return item


def cpus(partition: str | None) -> int:
    """CPUs of the partition (its nodes, summed)."""
    args = ["sinfo", "-h", "-o", "%C"] + (["-p", partition] if partition else [])
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
    return sum(int(line.split("/")[3]) for line in out)  # allocated/idle/other/total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--partition")
    args = ap.parse_args()
    slots = cpus(args.partition)
    with tempfile.TemporaryDirectory(dir=".") as logs:
        config = EngineConfig(
            kind="slurm", slurm_partition=args.partition, slurm_log_dir=logs, in_flight=slots
        )
        engine = open_engine(config)
        try:
            one = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                assert list(engine.map(empty_task, [0])) == [0]
                one.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            got = sorted(engine.map(empty_task, list(range(args.tasks))))
            wall = time.perf_counter() - t0
            assert got == list(range(args.tasks))
        finally:
            engine.close()
    running = min(slots, args.tasks)
    print(f"slurm: {slots} CPUs in the partition (one per task)")
    print(
        f"latency, 1 empty task, submission to result: median {statistics.median(one):.2f} s "
        f"(runs: {', '.join(f'{s:.2f}' for s in one)})"
    )
    print(
        f"array of {args.tasks} empty tasks, {running} at once: {wall:.2f} s wall, "
        f"{wall * running / args.tasks:.2f} s of a slot per task"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
