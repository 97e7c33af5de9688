"""Matching speed: metacurate vs the official fast path (pyahocorasick), same run, one core.

    python benchmarks/bench_match.py [--captions 200000] [--entries 500000]

Prints captions/s of both, their ratio, build times and the index size; checks that every
caption's id set is identical.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # noqa: E402
from metacurate import Matcher  # noqa: E402


def rss_mb() -> float:
    """Current resident set size of this process (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def official_spacing(text: str) -> str:
    """MetaCLIP's spacing(), as in its substr_matching.py."""
    puncts = [",", ".", ";", ":", "?", "!", "`"]
    text = f" {text} "
    for p in puncts:
        text = text.replace(p, f" {p} ")
    return text.replace("\t", " ").replace("\n", " ").replace("\r", " ")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--captions", type=int, default=200_000)
    ap.add_argument("--entries", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N timed passes")
    args = ap.parse_args()

    t0 = time.perf_counter()
    vocab = synth.vocabulary(400_000)
    texts = synth.captions(args.captions, vocab)
    entries = synth.metadata(args.entries, vocab, texts)
    print(
        f"generated {len(texts):,} captions, {len(entries):,} entries "
        f"in {time.perf_counter() - t0:.1f}s"
    )

    import ahocorasick

    t0 = time.perf_counter()
    automaton = ahocorasick.Automaton()
    for entry_id, entry in enumerate(entries):
        automaton.add_word(f" {entry} ", entry_id)
    automaton.make_automaton()
    aho_build = time.perf_counter() - t0

    def official(batch: list[str]) -> list[set[int]]:
        return [{eid for _, eid in automaton.iter(official_spacing(t))} for t in batch]

    rss0 = rss_mb()
    t0 = time.perf_counter()
    matcher = Matcher(entries)
    mc_build = time.perf_counter() - t0
    rss_matcher = rss_mb() - rss0
    arrow_texts = pa.array(texts, type=pa.string())

    def ours() -> pa.ListArray:
        out = []
        for off in range(0, len(arrow_texts), 65_536):
            out.append(matcher.match_batch(arrow_texts.slice(off, 65_536)))
        return pa.concat_arrays(out)

    best_off = best_ours = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ref = official(texts)
        best_off = min(best_off, time.perf_counter() - t0)
        t0 = time.perf_counter()
        got = ours()
        best_ours = min(best_ours, time.perf_counter() - t0)

    got_sets = [set(x) for x in got.to_pylist()]
    diffs = sum(a != b for a, b in zip(got_sets, ref, strict=True))
    matches = sum(len(s) for s in ref)
    n = len(texts)
    print(
        f"matches per caption: {matches / n:.2f}; captions with >=1 match: "
        f"{sum(1 for s in ref if s) / n:.1%}"
    )
    print(
        f"official (pyahocorasick iter):  build {aho_build:.2f}s  {n / best_off:>10,.0f} captions/s"
    )
    print(
        f"metacurate ({'native' if matcher.native else 'python'}):          "
        f"build {mc_build:.2f}s  {n / best_ours:>10,.0f} captions/s  "
        f"index {matcher.nbytes / 2**20:.0f} MiB"
    )
    print(f"ratio: {best_off / best_ours:.2f}x   differing captions: {diffs}")
    print(f"resident memory added by building our matcher: {rss_matcher:.0f} MiB")
    if diffs:
        sys.exit(1)


if __name__ == "__main__":
    main()
