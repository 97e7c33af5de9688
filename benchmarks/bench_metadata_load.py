"""How long loading metadata takes: the built-in default and a JSON list (e.g. MetaCLIP's).

    python benchmarks/bench_metadata_load.py [--json metadata.json] [--rounds 5]

Each load runs in this process after one warm-up; prints the median wall and CPU seconds.
(Was a timed unit test, ``load_default_metadata`` < 1 s; speed is measured here instead.)
"""

from __future__ import annotations

import argparse
import statistics
import time

from metacurate.metadata import load_default_metadata, load_metadata


def timed(fn, rounds: int) -> tuple[float, float]:
    fn()
    walls, cpus = [], []
    for _ in range(rounds):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", help="a metadata file to load as well")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    md = load_default_metadata()
    wall, cpu = timed(load_default_metadata, args.rounds)
    print(f"built-in default ({len(md):,} entries): {wall:.3f} s wall, {cpu:.3f} s CPU (median)")
    if args.json:
        n = len(load_metadata(args.json))
        wall, cpu = timed(lambda: load_metadata(args.json), args.rounds)
        print(f"{args.json} ({n:,} entries): {wall:.3f} s wall, {cpu:.3f} s CPU (median)")


if __name__ == "__main__":
    main()
