"""The numbers behind the curation report, read from a curate/balance/match output folder.

Everything here reads files only (the manifest, the stats, the per-entry counts and a bounded
sample of side-car rows) and returns plain numpy arrays and dicts, so the cost is that of the
metadata size plus one streaming pass over the side-cars' ``entry_ids`` list lengths for the
matches-per-caption histogram; never a pass over the captions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from metacurate.errors import MetacurateError
from metacurate.files import read_json, read_parquet, reading
from metacurate.storage import AnyPath, location, parquet_file
from metacurate.workdir import Workdir, match_folder

#: Points kept per curve: the HTML size does not grow with the metadata or the pool.
MAX_POINTS = 2_000
#: Matches-per-caption histogram: 0..HIST_CAP-1 and one ``>= HIST_CAP`` bucket.
HIST_CAP = 16


@dataclass
class Run:
    """What a run's output folder holds, as read by :func:`load_run`."""

    root: AnyPath
    manifest: dict | None  # None for a folder that was matched but not balanced
    stats: dict  # the match stats (stats.json, or the manifest's "match")
    inputs: list[dict]  # stats.json inputs: task_id, path, format, rows, error
    match_root: AnyPath  # the folder holding matches/ (OUT, or the manifest's workdir)
    entries: pa.Array  # entry strings, id = position
    counts: np.ndarray  # int64 count[e] over the pool
    p: np.ndarray | None  # p_e of the run (None without a manifest)
    counts_curated: np.ndarray | None  # count[e] over the curated rows
    t: float | None = None
    seed: int = 0
    notes: list[str] = field(default_factory=list)
    s3_endpoint: str | None = None  # where an s3:// run folder and its pool are

    @property
    def sidecars(self) -> list[tuple[dict, AnyPath]]:
        """``(input, side-car path)`` for every input matched without error, in input order."""
        wd = Workdir(self.match_root)
        out = []
        for inp in self.inputs:
            path = wd.sidecar(inp["task_id"])
            if inp.get("error") is None and path.exists():
                out.append((inp, path))
        return out


def load_run(out_dir: str | AnyPath, s3_endpoint: str | None = None) -> Run:
    """Read the small files of an output folder (manifest, stats, per-entry counts)."""
    root = location(out_dir, s3_endpoint)
    if not root.is_dir():
        raise MetacurateError(
            f"{root}: no such folder; pass the --out folder of 'metacurate curate'"
        )
    manifest = read_json(root / "manifest.json") if (root / "manifest.json").exists() else None
    match_root = match_folder(root, manifest, s3_endpoint)  # 'balance WORKDIR --out OTHER'
    stats_path = match_root / "stats.json" if (match_root / "stats.json").exists() else None
    file_stats = read_json(stats_path) if stats_path else None
    stats = (manifest or {}).get("match") or file_stats
    if stats is None:
        raise MetacurateError(
            f"{root}: no manifest.json or stats.json; run 'metacurate curate POOL --out {root}' "
            "first, or pass that --out folder"
        )
    inputs = (file_stats or {}).get("inputs", [])
    notes = []
    curated_counts = root / "curated_entry_counts.parquet"
    if manifest and curated_counts.exists():
        table = read_parquet(curated_counts, columns=["entry", "count", "p", "count_curated"])
        p = table.column("p").to_numpy()
        counts_curated = table.column("count_curated").to_numpy().astype(np.int64)
    else:
        path = match_root / "entry_counts.parquet"
        if not path.exists():
            raise MetacurateError(
                f"{root}: no entry_counts.parquet; the match stage did not finish"
            )
        table = read_parquet(path, columns=["entry", "count"])
        p = counts_curated = None
        notes.append("not balanced yet: no manifest.json, so no t, p_e or curated counts")
    counts = table.column("count").to_numpy().astype(np.int64)
    t = float(manifest["t"]) if manifest else None
    if manifest and p is None:
        notes.append(f"{curated_counts} is missing: p_e and curated counts not shown")
    return Run(
        root=root,
        manifest=manifest,
        stats=stats,
        inputs=inputs,
        match_root=match_root,
        entries=table.column("entry").combine_chunks(),
        counts=counts,
        p=p,
        counts_curated=counts_curated,
        t=t,
        seed=int(manifest["seed"]) if manifest else 0,
        notes=notes,
        s3_endpoint=s3_endpoint,
    )


# --- curves --------------------------------------------------------------------------------------


def _log_indices(n: int, max_points: int) -> np.ndarray:
    """At most ``max_points`` indices into ``range(n)``, log-spaced, first and last included."""
    if n <= max_points:
        return np.arange(n)
    idx = np.unique(np.geomspace(1, n, max_points).astype(np.int64) - 1)
    return np.union1d(idx, [0, n - 1])


def ranked_counts(
    counts: np.ndarray, max_points: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """``(rank, count)`` of the entries with count > 0, largest first (rank 1), downsampled on a
    log scale to at most ``max_points`` points."""
    c = np.sort(counts[counts > 0])[::-1]
    idx = _log_indices(len(c), max_points)
    return idx + 1, c[idx]


def cumulative_share(
    counts: np.ndarray,
    counts_after: np.ndarray | None,
    t: float | None,
    max_points: int = MAX_POINTS,
) -> dict:
    """The paper's curve: the cumulative share of all matches over entries sorted by count,
    tail (rarest) to head, before and after balancing (same entry order for both).

    Only entries with count > 0 are on the x axis (as a fraction of them). ``split`` is the
    fraction of those entries in the tail (``count < t``); the 'before' curve reaches the tail
    share there.
    """
    hit = counts > 0
    order = np.argsort(counts[hit], kind="stable")
    before = counts[hit][order].astype(np.float64)
    n = len(before)
    out: dict = {"n": n, "split": None, "x": np.zeros(0), "before": np.zeros(0), "after": None}
    if n == 0:
        return out
    idx = np.unique(np.linspace(0, n - 1, min(n, max_points)).astype(np.int64))
    out["x"] = (idx + 1) / n
    out["before"] = np.cumsum(before)[idx] / before.sum()
    if counts_after is not None:
        after = counts_after[hit][order].astype(np.float64)
        total = after.sum()
        out["after"] = np.cumsum(after)[idx] / total if total else np.zeros(len(idx))
    if t is not None:
        out["split"] = int(np.count_nonzero(before < t)) / n
    return out


# --- matches per caption -------------------------------------------------------------------------


def matches_histogram(run: Run) -> np.ndarray:
    """Rows by number of matched entries: from the match stats when they hold it for every
    row (the match tasks count it), else from the side-cars."""
    hist = np.asarray(run.stats.get("matches_per_row") or [], dtype=np.int64)
    if len(hist) == HIST_CAP + 1 and int(hist.sum()) == run.stats.get("rows"):
        return hist
    return matches_per_caption([p for _, p in run.sidecars])


def matches_per_caption(sidecars: list[AnyPath], cap: int = HIST_CAP) -> np.ndarray:
    """Rows by number of matched entries: ``hist[k]`` rows with k matches, ``hist[cap]`` with
    ``>= cap``. Streams the side-cars' ``entry_ids`` offsets batch by batch."""
    hist = np.zeros(cap + 1, np.int64)
    for path in sidecars:
        with reading(path), parquet_file(path) as pf:
            for batch in pf.iter_batches(batch_size=1 << 18, columns=["entry_ids"]):
                lengths = np.diff(batch.column(0).offsets.to_numpy())
                hist += np.bincount(np.minimum(lengths, cap), minlength=cap + 1)
    return hist


# --- tables --------------------------------------------------------------------------------------


def top_entries(run: Run, k: int = 50) -> list[dict]:
    """The ``k`` entries with the largest counts: id, entry, count, p_e, count after balancing."""
    k = min(k, int(np.count_nonzero(run.counts)))
    if k == 0:
        return []
    idx = np.argpartition(-run.counts, k - 1)[:k]
    idx = idx[np.lexsort((idx, -run.counts[idx]))]
    return [entry_row(run, int(i)) for i in idx]


def _clip(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def entry_row(run: Run, i: int) -> dict:
    """Entry ``i``: id, entry (cut to 100 characters), count, p_e, count after balancing."""
    return {
        "entry_id": i,
        "entry": _clip(run.entries[i].as_py(), 100),
        "count": int(run.counts[i]),
        "p": None if run.p is None else float(run.p[i]),
        "count_curated": None if run.counts_curated is None else int(run.counts_curated[i]),
    }


def never_matched(run: Run, k: int = 30) -> dict:
    """How many entries have count 0, and ``k`` of them spread evenly over the id range."""
    ids = np.flatnonzero(run.counts == 0)
    pick = ids[np.unique(np.linspace(0, len(ids) - 1, min(k, len(ids))).astype(np.int64))]
    return {
        "count": len(ids),
        "entries": len(run.counts),
        "examples": [(int(i), _clip(run.entries[int(i)].as_py(), 100)) for i in pick],
    }


def t_origin(manifest: dict) -> str:
    """How the run's ``t`` was set, in words (the manifest's ``t_from`` and its details)."""
    how = manifest.get("t_from")
    if how == "t":
        return "given (--t)"
    if how == "tail_share":
        return "chosen for the tail share asked (--tail-share)"
    if how == "target_size":
        got = manifest.get("target_realised")
        realised = f", {got:,} rows at this t" if isinstance(got, int) else ""
        return f"chosen for --target-size {manifest.get('target_size', 0):,}{realised}"
    return str(how)


def summary(run: Run) -> list[dict]:
    """The summary rows: label, the manifest key (dotted for nested keys) and the raw value."""
    m = run.manifest or {}
    s = run.stats
    rows = _pool_rows(m, s)
    if m.get("available") is not None:  # balanced over the downloaded rows: what follows is
        rows.append(  # over those rows (counts, p_e, tail share, curated, the examples)
            _row(
                "rows available (downloaded); the figures below are over these",
                "available.pool_rows_available",
                m["available"]["pool_rows_available"],
                ",",
            )
        )
    if m:
        rows += _balance_rows(m)
    return rows + _metadata_rows(m, s)


def _row(
    label: str,
    key: str | None,
    value: object,
    fmt: str = "",
    derived: str = "",
    shown: str | None = None,
) -> dict:
    """One summary row (see :func:`summary`)."""
    return {
        "label": label,
        "key": key,
        "value": value,
        "fmt": fmt,
        "derived": derived,
        "shown": shown,
    }


def _pool_rows(m: dict, s: dict) -> list[dict]:
    """Summary rows of the pool and its matches."""
    pool_rows = m.get("pool_rows", s.get("rows"))
    return [
        _row("pool rows", "pool_rows" if m else "match.rows", pool_rows, ","),
        _row(
            "rows with no text (null, empty, invalid UTF-8)",
            "match.rows_no_text",
            s.get("rows_no_text"),
            ",",
        ),
        _row(
            "rows with text",
            None,
            pool_rows - s.get("rows_no_text", 0),
            ",",
            derived="pool_rows - match.rows_no_text",
        ),
        _row(
            "matched rows (≥ 1 entry)",
            "pool_rows_matched" if m else "match.rows_matched",
            m.get("pool_rows_matched", s.get("rows_matched")),
            ",",
        ),
        _row("total matches", "match.total_matches", s.get("total_matches"), ","),
        *_dedup_rows(m, s),
    ]


def _dedup_rows(m: dict, s: dict) -> list[dict]:
    """--dedup: the copies of a uid removed before counting, and what was counted."""
    d = m.get("dedup") or s.get("dedup")
    if not d:
        return []
    key = "dedup" if m else "match.dedup"
    return [
        _row("duplicate rows removed (--dedup)", f"{key}.rows_removed", d["rows_removed"], ","),
        _row("unique uids counted", f"{key}.rows_unique", d["rows_unique"], ","),
        _row("unique matched rows", f"{key}.rows_matched_unique", d["rows_matched_unique"], ","),
    ]


def _balance_rows(m: dict) -> list[dict]:
    """Summary rows of the balance stage (a balanced run's manifest ``m``)."""
    return [
        _row("curated rows (realised)", "curated_rows", m["curated_rows"], ","),
        _row("curated rows (expected)", "expected_rows", m["expected_rows"], ",.1f"),
        _row("sum_e min(count, t)", "sum_min_count_t", m["sum_min_count_t"], ",.1f"),
        _row("t", "t", m["t"], ".6g"),
        _row("how t was set", "t_from", m.get("t_from"), shown=t_origin(m)),
        _row("tail share", "tail_share", m["tail_share"], ".4f"),
        _row("seed", "seed", m["seed"]),
    ]


def _metadata_rows(m: dict, s: dict) -> list[dict]:
    """Summary rows of the metadata, the mode and the stages' run times."""
    meta = m.get("metadata") or s.get("metadata") or {}
    rows = [
        _row("metadata", "metadata.name", meta.get("name")),
        _row("metadata entries", "metadata.entries", meta.get("entries"), ","),
        _row("metadata hash", "metadata.hash", meta.get("hash")),
        _row("entries hit", "match.entries_hit", s.get("entries_hit"), ","),
        _row("mode", "mode" if m else "match.mode", m.get("mode", s.get("mode"))),
        _row("match seconds", "match.seconds", s.get("seconds"), ".3f"),
    ]
    if m:
        rows.append(_row("balance seconds", "seconds", m["seconds"], ".3f"))
    return rows
