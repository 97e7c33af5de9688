"""End to end on real-caption-like rows: ``metacurate curate`` (the CLI, a fresh process, a new
``--out`` every run, report included) against an official-style two-pass pipeline with the
same number of processes, in the same run, alternating, median ratio.

    python benchmarks/bench_end_to_end.py [--rows 1000000] [--files 10] [--workers 2] \
        [--rounds 3] [--t 200] [--data DIR]

Pool: captions drawn (with replacement, seeded) from one half of the real samples in
``$METACURATE_SHARED/data/captions`` (LAION alt-text and CC3M), one row per caption with a
unique URL, written as ``--files`` Parquet files. Metadata (~500k entries, a JSON file as
MetaCLIP ships it): the built-in default list (WordNet names, common words, digits) plus
bigrams, then trigrams, of the *other* half (a stand-in for MetaCLIP's Wikipedia bigrams and
titles: phrases of the language, not of these very captions).

Baseline (official style, two passes): a ``multiprocessing`` pool of ``--workers`` processes
(fork, the automaton built once in the parent and shared); pass 1 per file: read the caption
column with pyarrow, pyahocorasick ``iter`` over ``spacing(text)`` per caption, the id lists
pickled per file, counts returned as numpy arrays and summed; pass 2 per file: MetaCLIP's
``balance_sampling`` loop with ``random.random()``, the kept rows (all columns + ids) written
to Parquet. Both run as fresh processes (``python -c``), timed from outside.

The first metacurate run of a session builds the matcher index into an empty cache folder and
is reported apart ("cold"); the timed rounds reuse it, as every run after the first does.

Both sides run with compiled bytecode, as after ``pip install`` (which compiles every module):
the source trees are compiled first and ``PYTHONDONTWRITEBYTECODE`` is dropped from the
children's environment (set in some sandboxes, it made every metacurate process, workers
included, compile its ~150 modules again: 0.2-0.3 s of CPU each). Every timed run starts with
``os.sync()`` (not timed): on ext4 (data=ordered) metacurate's first fsync otherwise also
writes out what the run before it left in the page cache (~0.5 s after 100 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("METACURATE_SHARED", HERE.parents[1] / "shared"))


def real_captions() -> list[str]:
    """LAION alt-text and CC3M captions from the shared sample data."""
    d = SHARED / "data" / "captions"
    laion = pq.read_table(d / "laion_sample_10k.parquet", columns=["TEXT"]).column(0)
    cc3m = pa_csv.read_csv(
        d / "cc3m_validation.tsv",
        read_options=pa_csv.ReadOptions(column_names=["caption", "url"]),
        parse_options=pa_csv.ParseOptions(delimiter="\t", quote_char=False),
    ).column("caption")
    return [t for t in laion.to_pylist() + cc3m.to_pylist() if t]


def split_captions(seed: int = 0) -> tuple[list[str], list[str]]:
    """The real captions in two disjoint halves: (pool source, metadata source)."""
    captions = real_captions()
    order = np.random.default_rng(seed).permutation(len(captions))
    half = len(captions) // 2
    return [captions[i] for i in order[:half]], [captions[i] for i in order[half:]]


def build_metadata(captions: list[str], size: int) -> list[str]:
    """The built-in default entries, then bigrams and trigrams of ``captions`` up to
    ``size``."""
    from metacurate.metadata import load_default_metadata

    entries = dict.fromkeys(load_default_metadata().entries)
    for n in (2, 3):
        for i in range(len(captions)):
            words = captions[i].split()
            for j in range(len(words) - n + 1):
                entries.setdefault(" ".join(words[j : j + n]))
                if len(entries) >= size:
                    return list(entries)
    return list(entries)


def prepare(data: Path, rows: int, files: int, entries: int) -> tuple[list[Path], Path]:
    """The pool files and metadata.json under ``data`` (made once, reused)."""
    pool = data / f"pool-{rows}-{files}-v2"
    md = data / f"metadata-{entries}-v2.json"
    data.mkdir(parents=True, exist_ok=True)
    captions, held_out = split_captions()
    if not md.exists():
        md.write_text(json.dumps(build_metadata(held_out, entries)))
    if not pool.exists():
        rng = np.random.default_rng(1)
        texts = pa.array(captions, pa.string()).take(pa.array(rng.integers(0, len(captions), rows)))
        tmp = pool.with_name(pool.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        bounds = np.linspace(0, rows, files + 1).astype(int)
        for i in range(files):
            lo, hi = int(bounds[i]), int(bounds[i + 1])
            urls = pa.array([f"https://img.example/{j}.jpg" for j in range(lo, hi)])
            pq.write_table(
                pa.table({"url": urls, "text": texts.slice(lo, hi - lo)}),
                tmp / f"part-{i:05d}.parquet",
            )
        tmp.rename(pool)
    return sorted(pool.glob("*.parquet")), md


BASELINE = r"""
import json, pickle, random, sys
from multiprocessing import get_context
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
import ahocorasick
sys.path.insert(0, {here!r})
from bench_match import official_spacing

paths, md, t, out, workers = {paths!r}, {md!r}, {t!r}, {out!r}, {workers!r}
entries = json.load(open(md))
A = ahocorasick.Automaton()
for i, e in enumerate(entries):
    A.add_word(f" {{e}} ", i)
A.make_automaton()

def match(k):
    texts = pq.read_table(paths[k], columns=["text"]).column(0).to_pylist()
    ids, counts = [], np.zeros(len(entries), np.int64)
    for text in texts:
        found = sorted({{e for _, e in A.iter(official_spacing(text))}}) if text else []
        ids.append(found)
        counts[found] += 1
    with open(f"{{out}}/{{k}}.pkl", "wb") as f:
        pickle.dump(ids, f)
    return counts

def sample(args):
    k, p = args
    random.seed(k)
    ids = pickle.load(open(f"{{out}}/{{k}}.pkl", "rb"))
    keep = []
    for i, found in enumerate(ids):
        for e in found:
            if random.random() < p[e]:
                keep.append(i)
                break
    table = pq.read_table(paths[k]).take(pa.array(keep, pa.int64()))
    table = table.append_column("entry_ids", pa.array([ids[i] for i in keep], pa.list_(pa.int32())))
    pq.write_table(table, f"{{out}}/curated-{{k}}.parquet")
    return len(keep)

with get_context("fork").Pool(workers) as pool:
    counts = sum(pool.map(match, range(len(paths))))
    p = np.minimum(1.0, t / np.maximum(counts, 1))
    kept = sum(pool.map(sample, [(k, p) for k in range(len(paths))]))
print(kept)
"""


def bytecode_env(env: dict | None = None) -> dict:
    """``env`` (default: ours) without ``PYTHONDONTWRITEBYTECODE``."""
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_tree(src: Path) -> None:
    """Byte-compile a source tree, as ``pip install`` does."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True)


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the process and all its children)."""
    env = bytecode_env(env)
    os.sync()  # the last run's unwritten files are not this run's: ext4 makes an fsync flush them
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-3000:]
        raise SystemExit(f"{cmd[:4]}... exited with {done.returncode}:\n{tail}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def run_baseline(
    paths: list[Path], md: Path, t: float, workers: int, out: Path
) -> tuple[float, float]:
    out.mkdir(parents=True)
    code = BASELINE.format(
        here=str(HERE),
        paths=[str(p) for p in paths],
        md=str(md),
        t=t,
        out=str(out),
        workers=workers,
    )
    return timed([sys.executable, "-c", code])


def run_ours(
    paths: list[Path],
    md: Path,
    t: float,
    workers: int,
    out: Path,
    cache: Path,
    tree: Path | None = None,
) -> tuple[float, float]:
    """``metacurate curate`` of this checkout, or of another source ``tree`` (its ``src`` on
    PYTHONPATH, kernel built in place) for before/after comparisons."""
    cmd = [sys.executable, "-m", "metacurate.cli", "curate", str(paths[0].parent)]
    cmd += ["--metadata", str(md), "--out", str(out), "--t", str(t), "--workers", str(workers)]
    env = {**os.environ, "METACURATE_CACHE": str(cache)}
    if tree is not None:
        env["PYTHONPATH"] = str(tree / "src")
    return timed(cmd, env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--entries", type=int, default=500_000)
    ap.add_argument("--t", type=float, default=200.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "bench_e2e")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument(
        "--tree",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also time the curate of another source tree each round (e.g. the code before)",
    )
    args = ap.parse_args()
    trees = [(n, Path(d)) for n, _, d in (spec.partition("=") for spec in args.tree)]
    paths, md = prepare(args.data, args.rows, args.files, args.entries)
    for src in [HERE, HERE.parent / "src", *(d / "src" for _, d in trees)]:
        compile_tree(src)
    n_entries = len(json.loads(md.read_text()))
    print(f"{args.rows:,} rows in {len(paths)} files, {n_entries:,} entries, t={args.t:g}")
    work = Path(tempfile.mkdtemp(prefix="bench_e2e_"))
    cache = work / "cache"
    try:
        cold, cold_cpu = run_ours(paths, md, args.t, args.workers, work / "cold", cache)
        print(f"metacurate curate, cold index cache: {cold:.2f}s (cpu {cold_cpu:.2f}s)")
        others: dict[str, list] = {name: [] for name, _ in trees}
        nan = (float("nan"), float("nan"))
        rounds = []
        for r in range(args.rounds):
            base = (
                nan
                if args.skip_baseline
                else run_baseline(paths, md, args.t, args.workers, work / f"base-{r}")
            )
            for name, tree in trees:
                got = run_ours(paths, md, args.t, args.workers, work / f"{name}-{r}", cache, tree)
                others[name].append(got)
                print(f"round {r}: {name} {got[0]:6.2f}s (cpu {got[1]:6.2f}s)")
            ours = run_ours(paths, md, args.t, args.workers, work / f"ours-{r}", cache)
            rounds.append((base, ours))
            print(
                f"round {r}: baseline {base[0]:6.2f}s (cpu {base[1]:6.2f}s)  metacurate "
                f"{ours[0]:6.2f}s (cpu {ours[1]:6.2f}s)  wall ratio {base[0] / ours[0]:5.2f}x  "
                f"cpu ratio {base[1] / ours[1]:5.2f}x"
            )
        med = statistics.median
        ours_m = med(o[0] for _, o in rounds)
        print(
            f"median: baseline {med(b[0] for b, _ in rounds):.2f}s, metacurate {ours_m:.2f}s "
            f"({args.rows / ours_m:,.0f} rows/s); wall ratio "
            f"{med(b[0] / o[0] for b, o in rounds):.2f}x, cpu ratio "
            f"{med(b[1] / o[1] for b, o in rounds):.2f}x"
        )
        for name, got in others.items():
            print(
                f"{name}: median {med(g[0] for g in got):.2f}s; {name}/this wall "
                f"{med(g[0] / o[0] for g, (_, o) in zip(got, rounds, strict=True)):.2f}x, cpu "
                f"{med(g[1] / o[1] for g, (_, o) in zip(got, rounds, strict=True)):.2f}x; "
                f"baseline/{name} wall "
                f"{med(b[0] / g[0] for g, (b, _) in zip(got, rounds, strict=True)):.2f}x"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
