"""Worldwide ``curate`` end to end vs an official-style Meta CLIP 2 pipeline, same run, one core.

    python benchmarks/bench_curate_worldwide.py [--rows 60000] [--entries 250000]

Pool and metadata as in bench_worldwide.py (real captions, 35% CJK, a ``lang`` column; wordfreq
lists per language written as a metadata folder). Official-style pipeline, after
``metaclip/curation/curate.py``: read the Parquet files, build one pyahocorasick automaton per
language, match every text (``substr_match``), count per language, ``t_to_p`` on English and
``p_to_t`` for the others, ``count_to_prob``, decide every row with ``random.random()``, write
the kept rows. metacurate: ``curate(..., mode="metaclip2", lang_column="lang", workers=1)``,
which also writes side-cars, decisions and counts. Both include building their indexes. The
per-language counts must agree (the decisions differ by design: a keyed hash vs ``random``).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_worldwide as bw  # noqa: E402


def official_pipeline(files: list[Path], lists: dict[str, list[str]], t_en: float, out: Path):
    """The official stages 1-3 in one process; returns per-language counts."""
    from metacurate.balance.worldwide import official_p_to_t, official_t_to_p

    automatons = {lang: bw.official_build(md) for lang, md in lists.items()}
    counts = {lang: np.zeros(len(md), np.uint64) for lang, md in lists.items()}
    matched = []
    for f in files:
        t = pq.read_table(f, columns=["text", "lang"])
        texts, langs = t.column("text").to_pylist(), t.column("lang").to_pylist()
        ids = bw.official_match(automatons, texts, langs)
        for lang, row in zip(langs, ids, strict=True):
            if row:
                counts[lang][row] += 1
        matched.append((f, ids, langs))
    p = official_t_to_p(counts["en"], t_en)
    probs = {}
    for lang, c in counts.items():
        t = t_en if lang == "en" else max(1, official_p_to_t(c, p))
        pc = np.array(c, dtype=np.float64)
        pc[pc < t] = t
        probs[lang] = t / pc
    rng = random.Random(0)
    for f, ids, langs in matched:
        keep = []
        for lang, row in zip(langs, ids, strict=True):
            prob = 1.0 - np.prod(1.0 - probs[lang][row]) if row else 0.0
            keep.append(prob >= rng.random() and bool(row))
        table = pq.read_table(f).filter(pa.array(keep))
        pq.write_table(table, out / f.name)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=60_000)
    ap.add_argument("--entries", type=int, default=250_000)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--t", type=float, default=200.0, help="t_en")
    args = ap.parse_args()
    pa.set_cpu_count(1)
    from metacurate.api import curate
    from metacurate.count_lang import read_language_counts
    from metacurate.metadata.worldwide import write_worldwide

    texts, langs = bw.load_pool(args.rows, 0.35)
    lists = bw.load_metadata(set(langs), args.entries)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        md_dir = write_worldwide(d / "md", lists)
        table = pa.table(
            {"url": [f"http://x/{i}" for i in range(len(texts))], "text": texts, "lang": langs}
        )
        files = []
        step = -(-len(texts) // args.files)
        for i in range(args.files):
            files.append(d / f"part-{i}.parquet")
            pq.write_table(table.slice(i * step, step), files[-1])
        (d / "official").mkdir()
        t0 = time.perf_counter()
        ref = official_pipeline(files, lists, args.t, d / "official")
        t_off = time.perf_counter() - t0
        t0 = time.perf_counter()
        m = curate([str(f) for f in files], d / "ours", metadata=str(md_dir), mode="metaclip2",
                   lang_column="lang", t=args.t, workers=1, report=False)  # fmt: skip
        t_ours = time.perf_counter() - t0
        got = read_language_counts(d / "ours" / "counts")
        same = all(np.array_equal(got[k], ref[k].astype(np.int64)) for k in ref)
    n = len(texts)
    print(f"pool {n:,} rows in {args.files} files; t_en {args.t:g}")
    print(f"official-style pipeline: {t_off:6.1f}s  {n / t_off:>9,.0f} rows/s")
    print(f"metacurate curate:       {t_ours:6.1f}s  {n / t_ours:>9,.0f} rows/s (1 worker)")
    print(f"ratio: {t_off / t_ours:.2f}x   per-language counts identical: {same}")
    print(f"curated rows: {m['curated_rows']:,}; t per language: {m['t_lang']}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
