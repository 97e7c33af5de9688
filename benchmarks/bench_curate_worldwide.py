"""Worldwide ``curate`` end to end vs an official-style Meta CLIP 2 pipeline, 2 workers each,
same run, alternating; the ratio is the median of the per-pair ratios.

    METACURATE_SHARED=/work/shared python benchmarks/bench_curate_worldwide.py \\
        --rows 1000000 --workers 2 --repeat 3

Pool: real captions cycled (bench_worldwide.load_pool: 35% Chinese/Japanese, then English,
German, French, Czech), with a ``lang`` column, in ``--files`` Parquet files. Metadata: the
built-in worldwide default (42 languages, English the 338k-entry MetaCLIP list; or wordfreq's
lists with ``--entries`` when wordfreq is installed), so most languages have no rows.

Official-style pipeline, after ``metaclip/curation/curate.py`` and ``substr_matching.py``, as
strong as it honestly gets: a ``multiprocessing.Pool(workers)``; stage 1 per file in a worker:
read the Parquet file, match each text against a pyahocorasick automaton of its language
(built once per worker, only for the languages the worker meets), count per language, keep
the id lists (pickled); stage 2 in the parent: add the counts, ``t_to_p`` on English,
``p_to_t`` for the others, ``count_to_prob``; stage 3 per file in a worker: keep each row with
``random.random() < 1 - prod(1 - p)``, write the kept rows as Parquet. metacurate:
``curate(..., mode="metaclip2", lang_column="lang", workers=W)`` (it also writes side-cars,
decisions, per-language counts and the manifest), its index cache warm after the first run
(the first, cold, run is printed separately). The per-language counts must agree.
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import resource
import statistics
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_worldwide as bw  # noqa: E402

# -- the official-style pipeline (module level: the pool's workers call these) ----------------

_MD_DIR: Path | None = None
_AUTOMATONS: dict = {}


def _init(md_dir: str) -> None:
    global _MD_DIR
    _MD_DIR = Path(md_dir)
    _AUTOMATONS.clear()


def _automaton(lang: str):
    if lang not in _AUTOMATONS:
        import json

        path = _MD_DIR / f"{lang}.json"
        _AUTOMATONS[lang] = (
            bw.official_build(json.loads(path.read_text("utf-8"))) if path.exists() else None
        )
    return _AUTOMATONS[lang]


def _stage1(job: tuple[str, str]) -> dict[str, dict[int, int]]:
    """Match one file; pickle its id lists; return its counts per language (sparse)."""
    f, ids_path = job
    t = pq.read_table(f, columns=["text", "lang"])
    texts, langs = t.column("text").to_pylist(), t.column("lang").to_pylist()
    counts: dict[str, dict[int, int]] = {}
    rows = []
    for txt, lang in zip(texts, langs, strict=True):
        a = _automaton(lang) if txt is not None else None
        if a is None:
            rows.append(())
            continue
        ids = sorted({entry_id for _, (entry_id, _) in a.iter(bw.official_spacing(txt))})
        c = counts.setdefault(lang, {})
        for i in ids:
            c[i] = c.get(i, 0) + 1
        rows.append(tuple(ids))
    with open(ids_path, "wb") as fh:
        pickle.dump(rows, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return counts


def _stage3(job: tuple[str, str, str, dict, int]) -> int:
    """Decide every row of one file with random.random(); write the kept rows."""
    f, ids_path, out, probs, seed = job
    with open(ids_path, "rb") as fh:
        rows = pickle.load(fh)
    langs = pq.read_table(f, columns=["lang"]).column(0).to_pylist()
    rng = random.Random(seed)
    keep = []
    for lang, ids in zip(langs, rows, strict=True):
        if not ids:
            keep.append(False)
            continue
        p = probs[lang][list(ids)]
        keep.append(rng.random() < 1.0 - float(np.prod(1.0 - p)))
    table = pq.read_table(f).filter(pa.array(keep))
    pq.write_table(table, out)
    return table.num_rows


def official_pipeline(
    files: list[Path], md_dir: Path, sizes: dict[str, int], t_en: float, work: Path, workers: int
) -> tuple[dict[str, np.ndarray], int, int]:
    """Returns per-language counts, curated rows, and the workers' peak RSS (kB)."""
    from metacurate.balance.worldwide import official_p_to_t, official_t_to_p

    work.mkdir(parents=True, exist_ok=True)
    ids = [str(work / f"{f.stem}.ids.pkl") for f in files]
    with get_context("fork").Pool(workers, initializer=_init, initargs=(str(md_dir),)) as pool:
        parts = pool.map(_stage1, list(zip(map(str, files), ids, strict=True)), chunksize=1)
        counts = {lang: np.zeros(n, np.int64) for lang, n in sizes.items()}
        for part in parts:
            for lang, c in part.items():
                if c:
                    k = np.fromiter(c.keys(), np.int64, len(c))
                    counts[lang][k] += np.fromiter(c.values(), np.int64, len(c))
        p = official_t_to_p(counts["en"], t_en)
        probs = {}
        for lang, c in counts.items():
            if not c.any():
                continue
            t = t_en if lang == "en" else max(1, official_p_to_t(c, p))
            pc = c.astype(np.float64)
            pc[pc < t] = t
            probs[lang] = t / pc
        jobs = [
            (str(f), i, str(work / f.name), probs, k)
            for k, (f, i) in enumerate(zip(files, ids, strict=True))
        ]
        kept = sum(pool.map(_stage3, jobs, chunksize=1))
    return counts, kept, _children_peak_kb()


def _children_peak_kb() -> int:
    """Largest peak RSS of any reaped child so far (ru_maxrss of children is the max)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def _worldwide_lists(entries: int) -> Path | None:
    """A metadata folder of wordfreq lists (``entries`` per language), or None without
    wordfreq (then the built-in worldwide default is used)."""
    try:
        import wordfreq  # noqa: F401
    except ImportError:
        return None
    return Path("wordfreq")  # marker; written by main


def make_pool(rows: int, files: int, d: Path) -> list[Path]:
    texts, langs = bw.load_pool(rows, 0.35)
    table = pa.table(
        {"url": [f"http://x/{i}" for i in range(len(texts))], "text": texts, "lang": langs}
    )
    out = []
    step = -(-len(texts) // files)
    for i in range(files):
        out.append(d / f"part-{i}.parquet")
        pq.write_table(table.slice(i * step, step), out[-1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="timed pairs, alternating")
    ap.add_argument("--entries", type=int, default=250_000, help="with wordfreq: per language")
    ap.add_argument("--t", type=float, default=2000.0, help="t_en")
    ap.add_argument("--ours-only", action="store_true", help="time metacurate only (10M rows)")
    args = ap.parse_args()
    from metacurate.api import curate
    from metacurate.count_lang import read_language_counts
    from metacurate.metadata.worldwide import load_worldwide, write_worldwide

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        files = make_pool(args.rows, args.files, d)
        if _worldwide_lists(args.entries) is not None:
            langs = set(pq.read_table(files[0], columns=["lang"]).column(0).to_pylist())
            md_dir = write_worldwide(d / "md", bw.load_metadata(langs, args.entries))
        else:
            ww = load_worldwide("worldwide-default")
            md_dir = write_worldwide(d / "md", {x: list(ww.get(x).entries) for x in ww.languages})
        sizes = {x: len(load_worldwide(md_dir).get(x)) for x in load_worldwide(md_dir).languages}
        print(
            f"pool {args.rows:,} rows in {args.files} files, metadata {len(sizes)} languages "
            f"(en {sizes.get('en', 0):,} entries), t_en {args.t:g}, {args.workers} workers each "
            f"(setup {time.perf_counter() - t0:.0f}s); machine: {os.cpu_count()} cores"
        )
        cache = d / "cache"

        def ours(k: int) -> tuple[float, dict]:
            out = d / f"ours-{k}"
            t0 = time.perf_counter()
            m = curate([str(f) for f in files], out, metadata=str(md_dir), mode="metaclip2",
                       lang_column="lang", t=args.t, workers=args.workers, report=False,
                       index_cache=str(cache))  # fmt: skip
            return time.perf_counter() - t0, m

        cold, m = ours(0)
        print(f"metacurate, cold index cache: {cold:6.1f}s {args.rows / cold:>10,.0f} rows/s")
        if args.ours_only:
            warm, m = ours(1)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(
                f"metacurate, warm index cache: {warm:6.1f}s {args.rows / warm:>10,.0f} rows/s; "
                f"peak RSS: driver {peak / 1024:,.0f} MB, workers {_children_peak_kb() / 1024:,.0f}"
                f" MB (largest); curated {m['curated_rows']:,}"
            )
            return
        ratios, t_off, t_ours, same = [], [], [], True
        for k in range(args.repeat):
            t0 = time.perf_counter()
            ref, kept, _ = official_pipeline(
                files, md_dir, sizes, args.t, d / f"official-{k}", args.workers
            )
            t_off.append(time.perf_counter() - t0)
            t, m = ours(k + 1)
            t_ours.append(t)
            ratios.append(t_off[-1] / t)
            got = read_language_counts(d / f"ours-{k + 1}" / "counts")
            same &= all(np.array_equal(got[x], ref[x]) for x in ref)
            print(
                f"pair {k + 1}: official-style {t_off[-1]:6.1f}s, metacurate {t:6.1f}s, "
                f"ratio {ratios[-1]:.2f}x",
                flush=True,
            )
    n = args.rows
    off, our = statistics.median(t_off), statistics.median(t_ours)
    print(f"official-style (Pool({args.workers})): median {off:6.1f}s {n / off:>10,.0f} rows/s")
    print(
        f"metacurate curate (workers={args.workers}): median {our:6.1f}s {n / our:>10,.0f} rows/s"
    )
    print(f"curated rows: official-style {kept:,}, metacurate {m['curated_rows']:,}")
    listed = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"ratio: median {statistics.median(ratios):.2f}x ({listed}); counts identical: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
