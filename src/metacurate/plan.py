"""``metacurate plan WORKDIR``: what each threshold ``t`` would give, before balancing.

From a matched work folder (``entry_counts.parquet`` and the side-cars in ``matches/``) it
prints, for a range of ``t``, the expected curated size (the sum over rows of
``keep_prob = 1 - prod_{e in M}(1 - p_e)``, what ``balance --t T`` keeps on average), its
share of the pool and the tail share, so a user picks ``t`` before writing anything. It writes
nothing. The numbers come from :mod:`metacurate.balance`'s public functions, the same ones
the balance stage uses; the side-cars are read once, whatever the number of ``t`` values.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from metacurate import balance
from metacurate.balance.choose_t import choose
from metacurate.dedup import unique_mask
from metacurate.errors import MetacurateError
from metacurate.files import read_json, read_parquet, reading
from metacurate.storage import AnyPath, location, parquet_file
from metacurate.workdir import Workdir, match_folder

#: MetaCLIP's reference points: ``(label, t)``. 400M rows were curated from a 1.6B-row pool
#: with t = 20,000; Meta CLIP 2 uses t = 170,000 for English (``t_en``).
REFERENCES = (("MetaCLIP 400M", 20_000.0), ("Meta CLIP 2, English", 170_000.0))
#: The pool MetaCLIP's t = 20,000 was applied to (rows).
METACLIP_POOL_ROWS = 1_600_000_000
_BATCH_ROWS = 1 << 20

EPILOG = """\
examples:
  metacurate match pool/ --out work/
  metacurate plan work/                       # the table, then pick t
  metacurate plan work/ --t 300 1000 --tail-share 0.06 --json
  metacurate balance work/ --t 1000 --out curated/

expected rows = sum over rows of 1 - prod_{e in M}(1 - p_e), p_e = min(1, t / count[e]): what
'balance --t T' keeps on average (any seed); tail share = share of all matches held by
entries with count < t. MetaCLIP kept 400M rows of a 1.6B-row pool with t = 20,000; on a
pool N times smaller, counts are about N times smaller, so the comparable t is about
20,000 / N (the 'scaled' row). Rows left out by --image-column are not taken into account.
"""


def _sidecar_paths(root: AnyPath) -> tuple[dict, list[AnyPath]]:
    """The match stats of ``root`` and the side-car of every input matched without error."""
    stats_path = root / "stats.json"
    if not stats_path.exists() or not (root / "entry_counts.parquet").exists():
        raise MetacurateError(
            f"{root}: no stats.json / entry_counts.parquet; pass a folder written by "
            f"'metacurate match POOL --out {root}' (or 'curate')"
        )
    stats = read_json(stats_path)
    paths = []
    for inp in stats.get("inputs", []):
        if inp.get("error") is not None:
            continue
        path = root / "matches" / f"{inp['task_id']}.parquet"
        if not path.exists():
            raise MetacurateError(
                f"{path}: side-car missing for {inp['path']}; rerun 'metacurate match'"
            )
        paths.append(path)
    return stats, paths


def _match_root(root: AnyPath) -> AnyPath:
    """``root``, or the work folder a 'balance WORKDIR --out ROOT' output names."""
    if not root.is_dir():
        raise MetacurateError(f"{root}: no such folder; pass the --out folder of 'match'")
    manifest = root / "manifest.json"
    return match_folder(root, read_json(manifest) if manifest.exists() else None)


def load_counts(root: AnyPath, stats: dict) -> tuple[np.ndarray, pa.Array]:
    """``count[e]`` and the entry strings of a work folder, checked against its stats."""
    table = read_parquet(root / "entry_counts.parquet", columns=["entry", "count"])
    kv = table.schema.metadata or {}
    recorded = kv.get(b"metacurate.metadata_hash", b"").decode()
    if recorded and recorded != (stats.get("metadata") or {}).get("hash"):
        raise MetacurateError(
            f"{root}/entry_counts.parquet does not belong to {root}/stats.json; rerun match"
        )
    return table.column("count").to_numpy().astype(np.int64), table.column("entry")


def iter_entry_ids(
    paths: Iterable[AnyPath], batch_rows: int = _BATCH_ROWS, dedup: bool = False
) -> Iterator[pa.Array]:
    """The ``entry_ids`` column of the side-cars, batch by batch (bounded memory); ``dedup``:
    of the rows a ``--dedup`` run kept only (``dedup/unique/<task>.parquet``)."""
    for path in paths:
        unique = None
        if dedup:
            unique = unique_mask(Workdir(path.parent.parent), path.name[: -len(".parquet")])
        at = 0
        with reading(path), parquet_file(path) as pf:
            for batch in pf.iter_batches(batch_size=batch_rows, columns=["entry_ids"]):
                ids = batch.column(0)
                if unique is not None:
                    ids = ids.filter(pa.array(unique[at : at + len(ids)]))
                at += batch.num_rows
                yield ids


def default_ts(counts: np.ndarray, pool_rows: int, extra: Sequence[float] = ()) -> list[float]:
    """Powers of two from 1 to the first one above the largest count (from there on every
    entry is tail), MetaCLIP's reference points, t = 20,000 scaled to this pool (at least 1)
    and ``extra``; sorted, distinct."""
    top = int(counts.max()) if len(counts) else 0
    ts = {float(2**k) for k in range(max(1, math.ceil(math.log2(top + 1)) + 1))}
    ts |= {t for _, t in REFERENCES}
    ts.add(scaled_t(pool_rows))
    ts |= {float(t) for t in extra}
    return sorted(ts)


def scaled_t(pool_rows: int) -> float:
    """MetaCLIP's t = 20,000 for a 1.6B-row pool, scaled to ``pool_rows`` (never below 1)."""
    return max(1.0, round(REFERENCES[0][1] * pool_rows / METACLIP_POOL_ROWS, 3))


def expected_sizes(entry_ids: Iterable[pa.Array], counts: np.ndarray, ts: Sequence[float]) -> list:
    """Expected curated size for every ``t`` of ``ts`` (one pass over ``entry_ids``)."""
    probs = [balance.entry_probs(counts, t) for t in ts]
    sums = [0.0] * len(ts)
    for ids in entry_ids:
        for k, p in enumerate(probs):
            sums[k] += float(balance.keep_prob(ids, p).sum())
    return sums


def _labels(t: float, pool_rows: int, asked: set[float], shares: dict[float, float]) -> str:
    out = [name for name, ref in REFERENCES if ref == t]
    if t == scaled_t(pool_rows):
        raw = REFERENCES[0][1] * pool_rows / METACLIP_POOL_ROWS
        out.append(
            "MetaCLIP 400M scaled to this pool (20,000 x pool rows / 1.6B"
            + (f" = {raw:.3g}, at least 1)" if raw < 1 else ")")
        )
    out += [f"tail share {p:g} asked" for p, tp in shares.items() if tp == t]
    if t in asked:
        out.append("asked")
    return ", ".join(out)


def plan(
    workdir: str | Path,
    ts: Sequence[float] = (),
    tail_shares: Sequence[float] = (),
    t_lang: dict[str, float] | None = None,
    t_rule: str = "metacurate",
) -> dict:
    """The plan of a matched work folder: pool figures and one row per ``t`` (see module doc).

    ``ts`` and ``tail_shares`` add rows to the default range (a tail share becomes the ``t``
    that :func:`metacurate.balance.choose_t.choose` gives it). A metaclip2 work folder gets
    one per-language table per reference instead (``ts`` are English's t; ``t_lang`` and
    ``t_rule`` as in ``balance``; ``plan_worldwide``).
    """
    root = _match_root(location(workdir))  # a local folder or s3://...
    stats, paths = _sidecar_paths(root)
    counts, entries = load_counts(root, stats)
    for t in ts:
        balance.entry_probs(np.zeros(0, np.int64), t)  # the same check (t > 0) as balance
    if "worldwide" in stats:
        from metacurate.plan_worldwide import plan_worldwide

        doc = plan_worldwide(stats, counts, paths, ts, tail_shares, t_lang, t_rule)
        return {"workdir": str(root), "pool_rows": int(stats.get("rows", 0)),
                "rows_matched": int(stats.get("rows_matched", 0)), "entries": len(counts),
                "metadata": stats.get("metadata") or {}, "mode": stats.get("mode"),
                "worldwide": doc}  # fmt: skip
    if t_lang:
        raise MetacurateError("--t-lang needs a metaclip2 work folder (--mode metaclip2)")
    shares = {float(p): choose(counts, tail_share=p).t for p in tail_shares}
    dedup = stats.get("dedup")  # --dedup: the pool is its unique rows
    pool_rows = int(dedup["rows_unique"] if dedup else stats.get("rows", 0))
    grid = default_ts(counts, pool_rows, [*ts, *shares.values()])
    sizes = expected_sizes(iter_entry_ids(paths, dedup=dedup is not None), counts, grid)
    top = int(np.argmax(counts)) if len(counts) else None
    rows = [
        {
            "t": t,
            "expected_rows": size,
            "expected_fraction": size / pool_rows if pool_rows else 0.0,
            "tail_share": balance.tail_share(counts, t),
            "head_entries": int(np.count_nonzero(counts >= t)),
            "sum_min_count_t": balance.sum_min_count_t(counts, t),
            "label": _labels(t, pool_rows, {float(x) for x in ts}, shares),
        }
        for t, size in zip(grid, sizes, strict=True)
    ]
    return {
        "workdir": str(root),
        "pool_rows": pool_rows,
        "rows_matched": int(stats.get("rows_matched", 0)),
        "entries": len(counts),
        "entries_hit": int(np.count_nonzero(counts)),
        "total_matches": int(counts.sum()),
        "largest_count": int(counts[top]) if top is not None else 0,
        "largest_entry": entries[top].as_py() if top is not None else None,
        "metadata": stats.get("metadata") or {},
        "rows": rows,
    }


def format_plan(doc: dict) -> str:
    """The plan as a plain-text table."""
    meta = doc["metadata"]
    if "worldwide" in doc:
        from metacurate.plan_worldwide import format_worldwide

        head = (
            f"pool: {doc['pool_rows']:,} rows, {doc['rows_matched']:,} matched; metadata "
            f"{meta.get('name', '?')} ({meta.get('hash', '?')[:12]}), mode {doc['mode']}, "
            "each language its own t"
        )
        return "\n".join([head, *format_worldwide(doc)])
    lines = [
        f"pool: {doc['pool_rows']:,} rows, {doc['rows_matched']:,} matched; "
        f"{doc['entries_hit']:,} of {doc['entries']:,} entries hit, "
        f"{doc['total_matches']:,} matches; largest count {doc['largest_count']:,} "
        f"({doc['largest_entry']!r})",
        f"metadata: {meta.get('name', '?')} ({meta.get('hash', '?')[:12]})",
    ]
    from metacurate.metadata.default import BUILTIN_NOTE, is_builtin

    if is_builtin(meta.get("hash", "")):
        lines.append(f"note: {BUILTIN_NOTE}")
    lines.append("")
    head = ("t", "expected rows", "of pool", "tail share", "head entries", "")
    table = [head]
    for r in doc["rows"]:
        table.append(
            (
                f"{r['t']:,.6g}",
                f"{r['expected_rows']:,.1f}",
                f"{r['expected_fraction']:.1%}",
                f"{r['tail_share']:.4f}",
                f"{r['head_entries']:,}",
                r["label"],
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        cells = [c.rjust(w) for c, w in zip(row[:5], widths, strict=True)]
        lines.append("  ".join(cells) + (f"  {row[5]}" if row[5] else ""))
    lines += [
        "",
        "expected rows: sum over rows of 1 - prod(1 - p_e), p_e = min(1, t / count[e]), "
        "what 'balance --t T' keeps on average; tail share: share of matches in entries "
        "with count < t; head entries: entries with count >= t (sampled).",
        f"next: metacurate balance {doc['workdir']} --t T --out OUT",
    ]
    return "\n".join(lines)


def cmd_plan(args: argparse.Namespace) -> int:
    """Print the plan of a matched work folder."""
    doc = plan(
        args.workdir,
        ts=args.t or (),
        tail_shares=args.tail_share or (),
        t_lang=args.t_lang,
        t_rule=args.t_rule,
    )
    if args.json:
        print(json.dumps(doc, indent=1, ensure_ascii=False))
    else:
        print(format_plan(doc))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``plan`` to a subparsers object."""
    p = subparsers.add_parser(
        "plan",
        help="print t -> expected curated size -> tail share for a matched pool",
        description="From a matched work folder (entry_counts.parquet and the side-cars in "
        "WORKDIR/matches/), print for a range of t (powers of two up to the largest count, "
        "MetaCLIP's reference points and the values asked) the expected curated size, its "
        "share of the pool and the tail share. Writes nothing.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("workdir", metavar="WORKDIR", help="a folder written by 'match' or 'curate'")
    p.add_argument("--t", type=float, nargs="+", metavar="T", help="also these values of t")
    p.add_argument(
        "--tail-share",
        type=float,
        nargs="+",
        metavar="P",
        help="also the t whose tail share is closest to P (as 'balance --tail-share P')",
    )
    from metacurate.cli_flags import PARSERS
    from metacurate.config import T_RULES

    p.add_argument(
        "--t-lang",
        type=PARSERS["t_lang"],
        metavar="LANG=T,...",
        help="metaclip2 work folders: these languages' t (as 'balance --t-lang')",
    )
    p.add_argument(
        "--t-rule",
        choices=T_RULES,
        default="metacurate",
        help="metaclip2 work folders: as 'balance --t-rule' (default metacurate)",
    )
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=cmd_plan)
