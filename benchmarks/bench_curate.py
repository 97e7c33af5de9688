"""End-to-end curate vs a baseline pipeline in the official MetaCLIP style, same run.

    python benchmarks/bench_curate.py [--rows 1000000] [--entries 500000] [--workers 1]

Baseline: read Parquet with pyarrow, pyahocorasick ``iter`` over ``spacing(text)`` per
caption, entry counts in a Python loop, MetaCLIP's ``balance_sampling`` loop with
``random.random()``, write the kept rows to Parquet. metacurate: ``curate`` (match + count +
balance + curated Parquet with all columns). Prints seconds, rows/s and the ratio.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # noqa: E402
from bench_match import official_spacing  # noqa: E402
from metacurate.api import curate  # noqa: E402
from metacurate.metadata import Metadata  # noqa: E402
from metacurate.report import write_report  # noqa: E402


def baseline(paths: list[Path], entries: list[str], t: float, out: Path) -> int:
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for entry_id, entry in enumerate(entries):
        automaton.add_word(f" {entry} ", entry_id)
    automaton.make_automaton()
    matched: list[list[list[int]]] = []
    counts = [0] * len(entries)
    for p in paths:
        texts = pq.read_table(p, columns=["text"]).column(0).to_pylist()
        per_file = []
        for text in texts:
            ids = sorted({eid for _, eid in automaton.iter(official_spacing(text))}) if text else []
            for eid in ids:
                counts[eid] += 1
            per_file.append(ids)
        matched.append(per_file)
    entry_prob = [min(1.0, t / c) if c else 1.0 for c in counts]
    random.seed(0)
    kept = 0
    for p, per_file in zip(paths, matched, strict=True):
        keep = []
        for i, ids in enumerate(per_file):
            for eid in ids:
                if random.random() < entry_prob[eid]:
                    keep.append(i)
                    break
        table = pq.read_table(p).take(pa.array(keep, pa.int64()))
        table = table.append_column(
            "entry_ids", pa.array([per_file[i] for i in keep], pa.list_(pa.int32()))
        )
        pq.write_table(table, out / p.name)
        kept += len(keep)
    return kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--entries", type=int, default=500_000)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--t", type=float, default=500.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_curate_"))
    try:
        t0 = time.perf_counter()
        vocab = synth.vocabulary(400_000)
        texts = synth.captions(args.rows, vocab)
        entries = synth.metadata(args.entries, vocab, texts[:200_000])
        bounds = np.linspace(0, args.rows, args.files + 1).astype(int)
        paths = []
        for i in range(args.files):
            lo, hi = bounds[i], bounds[i + 1]
            p = tmp / f"pool-{i:03d}.parquet"
            pq.write_table(
                pa.table(
                    {
                        "url": [f"https://img.example/{j}.jpg" for j in range(lo, hi)],
                        "text": texts[lo:hi],
                    }
                ),
                p,
            )
            paths.append(p)
        del texts
        print(
            f"generated {args.rows:,} rows in {args.files} files, {len(entries):,} entries "
            f"({time.perf_counter() - t0:.1f}s)"
        )
        metadata = Metadata.from_list(entries, name="synthetic")

        out = tmp / "metacurate"
        t0 = time.perf_counter()
        m = curate(
            paths,
            out,
            metadata=metadata,
            workers=args.workers,
            progress=False,
            report=False,  # timed separately below: the baseline writes no report
            t=args.t,
        )
        ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        write_report(out)
        report_s = time.perf_counter() - t0
        print(
            f"metacurate curate (workers={args.workers}): {ours:7.1f}s  "
            f"{args.rows / ours:>10,.0f} rows/s  kept {m['curated_rows']:,} "
            f"(match {m['match']['seconds']:.1f}s, balance {m['seconds']:.1f}s; "
            f"report.html afterwards {report_s:.1f}s)"
        )
        # the balancing decision alone, from the side-cars (what "balance" adds to a match)
        from metacurate import balance

        counts = pq.read_table(out / "entry_counts.parquet").column("count").to_numpy()
        t0 = time.perf_counter()
        p = balance.entry_probs(counts, args.t)
        decided = 0
        for side_path in sorted((out / "matches").glob("*[0-9a-f].parquet")):
            side = pq.read_table(side_path, columns=["uid_hash", "entry_ids"])
            keep, _ = balance.decide(
                side.column("entry_ids"), side.column("uid_hash").to_numpy(), p, 0
            )
            decided += len(keep)
        decide_s = time.perf_counter() - t0
        print(
            f"balancing decision from side-cars (read + keep_mask + keep_prob): "
            f"{decided / decide_s:,.0f} rows/s"
        )
        if not args.skip_baseline:
            base_out = tmp / "baseline"
            base_out.mkdir()
            t0 = time.perf_counter()
            kept = baseline(paths, entries, args.t, base_out)
            base = time.perf_counter() - t0
            print(
                f"official-style baseline (1 core): {base:7.1f}s  {args.rows / base:>10,.0f} "
                f"rows/s  kept {kept:,}"
            )
            print(f"ratio: {base / ours:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
