"""The numbers behind the curation report, read from a curate/balance/match output folder.

Everything here reads files only (the manifest, the stats, the per-entry counts and a bounded
sample of side-car rows) and returns plain numpy arrays and dicts, so the cost is that of the
metadata size plus one streaming pass over the side-cars' ``entry_ids`` list lengths for the
matches-per-caption histogram; never a pass over the captions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from metacurate.balance.decisions import read_decisions
from metacurate.errors import MetacurateError
from metacurate.files import read_json
from metacurate.match import WRAPPED, spacing
from metacurate.pool.readers import ReadOptions, read_batches
from metacurate.pool.sources import Source
from metacurate.workdir import Workdir

#: Rows read from the side-cars (and their source files) for examples; bounds the report's cost.
SAMPLE_ROWS = 20_000
#: Points kept per curve: the HTML size does not grow with the metadata or the pool.
MAX_POINTS = 2_000
#: Matches-per-caption histogram: 0..HIST_CAP-1 and one ``>= HIST_CAP`` bucket.
HIST_CAP = 16
#: Longest caption or entry shown as text (characters).
MAX_TEXT = 300


@dataclass
class Run:
    """What a run's output folder holds, as read by :func:`load_run`."""

    root: Path
    manifest: dict | None  # None for a folder that was matched but not balanced
    stats: dict  # the match stats (stats.json, or the manifest's "match")
    inputs: list[dict]  # stats.json inputs: task_id, path, format, rows, error
    match_root: Path  # the folder holding matches/ (OUT, or the manifest's workdir)
    entries: pa.Array  # entry strings, id = position
    counts: np.ndarray  # int64 count[e] over the pool
    p: np.ndarray | None  # p_e of the run (None without a manifest)
    counts_curated: np.ndarray | None  # count[e] over the curated rows
    t: float | None = None
    seed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def sidecars(self) -> list[tuple[dict, Path]]:
        """``(input, side-car path)`` for every input matched without error, in input order."""
        wd = Workdir(self.match_root)
        out = []
        for inp in self.inputs:
            path = wd.sidecar(inp["task_id"])
            if inp.get("error") is None and path.exists():
                out.append((inp, path))
        return out


def load_run(out_dir: str | Path) -> Run:
    """Read the small files of an output folder (manifest, stats, per-entry counts)."""
    root = Path(out_dir)
    if not root.is_dir():
        raise MetacurateError(
            f"{root}: no such folder; pass the --out folder of 'metacurate curate'"
        )
    manifest = read_json(root / "manifest.json") if (root / "manifest.json").exists() else None
    match_root = root
    if manifest and not (root / "matches").is_dir() and manifest.get("workdir"):
        match_root = Path(manifest["workdir"])  # 'balance WORKDIR --out OTHER'
    stats_path = next(
        (d / "stats.json" for d in (root, match_root) if (d / "stats.json").exists()), None
    )
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
        table = pq.read_table(curated_counts, columns=["entry", "count", "p", "count_curated"])
        p = table.column("p").to_numpy()
        counts_curated = table.column("count_curated").to_numpy().astype(np.int64)
    else:
        path = match_root / "entry_counts.parquet"
        if not path.exists():
            raise MetacurateError(
                f"{root}: no entry_counts.parquet; the match stage did not finish"
            )
        table = pq.read_table(path, columns=["entry", "count"])
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


def matches_per_caption(sidecars: list[Path], cap: int = HIST_CAP) -> np.ndarray:
    """Rows by number of matched entries: ``hist[k]`` rows with k matches, ``hist[cap]`` with
    ``>= cap``. Streams the side-cars' ``entry_ids`` offsets batch by batch."""
    hist = np.zeros(cap + 1, np.int64)
    for path in sidecars:
        with pq.ParquetFile(path) as pf:
            for batch in pf.iter_batches(batch_size=1 << 18, columns=["entry_ids"]):
                lengths = np.diff(batch.column(0).offsets.to_numpy())
                hist += np.bincount(np.minimum(lengths, cap), minlength=cap + 1)
    return hist


# --- a bounded sample of rows --------------------------------------------------------------------


def _head_rows(batches: Iterator[pa.RecordBatch], limit: int) -> pa.Table | None:
    got: list[pa.RecordBatch] = []
    n = 0
    for b in batches:
        got.append(b.slice(0, limit - n))
        n += len(got[-1])
        if n >= limit:
            break
    return pa.Table.from_batches(got).combine_chunks() if got else None


def _source_texts(run: Run, inp: dict, limit: int) -> pa.Array | None:
    """The first ``limit`` captions of an input file, or None when it cannot be read now."""
    done = Workdir(run.match_root).done(inp["task_id"])
    try:
        column = read_json(done)["columns"]["text"]
        mc = run.stats.get("match_config") or {}
        read = ReadOptions(csv_columns=tuple(mc["csv_columns"]) if mc.get("csv_columns") else None)
        table = _head_rows(read_batches(Source.from_dict(inp), read, [column]), limit)
    except (MetacurateError, OSError, KeyError, ValueError, pa.ArrowException):
        return None
    return None if table is None else table.column(0).cast(pa.string())


def sample_rows(run: Run, limit: int = SAMPLE_ROWS) -> pa.Table:
    """The first ``limit`` rows over the side-cars (input order): ``uid``, ``uid_hash``,
    ``entry_ids``, ``text`` (null when the source is gone) and, after balancing, ``kept`` and
    ``keep_prob`` as the balance stage decided them (its decisions side-cars)."""
    parts = []
    taken: list[tuple[dict, int]] = []
    left = limit
    for inp, path in run.sidecars:
        if left <= 0:
            break
        with pq.ParquetFile(path) as pf:
            cols = ["uid", "uid_hash", "entry_ids"]
            side = _head_rows(pf.iter_batches(batch_size=min(left, 65_536), columns=cols), left)
        if side is None:
            continue
        texts = _source_texts(run, inp, len(side))
        if texts is None or len(texts) != len(side):
            if texts is None:
                run.notes.append(f"captions of {inp['path']} not readable now: no examples from it")
            texts = pa.nulls(len(side), pa.string())
        parts.append(side.append_column("text", texts))
        taken.append((inp, len(side)))
        left -= len(side)
    schema = pa.schema(
        [
            ("uid", pa.string()),
            ("uid_hash", pa.uint64()),
            ("entry_ids", pa.list_(pa.int32())),
            ("text", pa.string()),
        ]
    )
    table = pa.concat_tables([t.cast(schema) for t in parts]) if parts else schema.empty_table()
    table = table.combine_chunks()
    if run.manifest is not None:
        table = _with_decisions(run, table, [(inp["task_id"], n) for inp, n in taken])
    return table


def _with_decisions(run: Run, table: pa.Table, taken: list[tuple[str, int]]) -> pa.Table:
    """Append ``kept`` and ``keep_prob`` from the balance stage's decisions side-cars (what is
    on disk, per-image choice included), aligned with the sampled side-car rows."""
    kept, prob = [], []
    for task_id, n in taken:
        d = read_decisions(run.root, task_id, n)
        if d is None or d.num_rows != n:
            run.notes.append(f"no decisions for {task_id}: rebalance to see kept/dropped examples")
            kept.append(pa.nulls(n, pa.bool_()))
            prob.append(pa.nulls(n, pa.float64()))
        else:
            kept.append(d.column("kept").combine_chunks())
            prob.append(d.column("keep_prob").combine_chunks())
    if not taken:
        return table.append_column("kept", pa.array([], pa.bool_())).append_column(
            "keep_prob", pa.array([], pa.float64())
        )
    table = table.append_column("kept", pa.concat_arrays(kept))
    return table.append_column("keep_prob", pa.concat_arrays(prob))


# --- tables --------------------------------------------------------------------------------------


def clip(text: str | None, limit: int = MAX_TEXT) -> str | None:
    """``text`` cut to ``limit`` characters (with an ellipsis) so one row cannot bloat a page."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def locate(text: str, entry: str) -> tuple[int, int] | None:
    """Where ``entry`` matched in ``text``: ``(start, stop)`` in the original text of the first
    match of ``" entry "`` in ``spacing(text)``, for highlighting; None if it does not match."""
    spaced = [" "]
    origin: list[int | None] = [None]
    for i, ch in enumerate(text):
        if ch in WRAPPED:
            spaced += [" ", ch, " "]
            origin += [None, i, None]
        else:
            spaced.append(" " if ch in "\t\n\r" else ch)
            origin.append(None if ch in "\t\n\r" else i)
    spaced.append(" ")
    origin.append(None)
    joined = "".join(spaced)
    if joined != spacing(text):  # pragma: no cover - spacing() changed: show no highlight
        return None
    k = joined.find(f" {entry} ")
    inside = [o for o in origin[k + 1 : k + 1 + len(entry)] if o is not None] if k >= 0 else []
    return (min(inside), max(inside) + 1) if inside else None


def top_entries(run: Run, k: int = 50) -> list[dict]:
    """The ``k`` entries with the largest counts: id, entry, count, p_e, count after balancing."""
    k = min(k, int(np.count_nonzero(run.counts)))
    if k == 0:
        return []
    idx = np.argpartition(-run.counts, k - 1)[:k]
    idx = idx[np.lexsort((idx, -run.counts[idx]))]
    return [_entry_row(run, int(i)) for i in idx]


def _entry_row(run: Run, i: int) -> dict:
    return {
        "entry_id": i,
        "entry": clip(run.entries[i].as_py(), 100),
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
        "examples": [(int(i), clip(run.entries[int(i)].as_py(), 100)) for i in pick],
    }


def unmatched_examples(sample: pa.Table, k: int = 12) -> list[str]:
    """Up to ``k`` captions of the sample that have text but match no entry."""
    if not len(sample):
        return []
    lengths = np.diff(sample.column("entry_ids").combine_chunks().offsets.to_numpy())
    texts = sample.column("text").to_pylist()
    out = []
    for i in np.flatnonzero(lengths == 0):
        if texts[i]:  # null/empty captions are counted, not shown
            out.append(clip(texts[i]))
            if len(out) == k:
                break
    return out


def band_samples(run: Run, sample: pa.Table, entries: int = 3, captions: int = 3) -> list[dict]:
    """Captions for a few head, middle and tail entries found in the sample.

    head: the sample's entries with the largest counts; middle: counts closest to ``t`` (the
    median count of hit entries before balancing); tail: the smallest counts. Each caption
    carries the row's keep decision and keep_prob when the run was balanced.
    """
    if not len(sample):
        return []
    ids = sample.column("entry_ids").combine_chunks()
    offsets = ids.offsets.to_numpy()
    flat = ids.values.to_numpy()
    rows = np.repeat(np.arange(len(sample)), np.diff(offsets))
    texts = sample.column("text").to_pylist()
    has_text = np.array([bool(x) for x in texts], bool)
    keep = has_text[rows]
    flat, rows = flat[keep], rows[keep]
    if not len(flat):
        return []
    present = np.unique(flat)
    c = run.counts[present]
    pivot = run.t if run.t is not None else float(np.median(run.counts[run.counts > 0]))
    chosen: set[int] = set()
    bands = []
    for name, order in (
        ("head", np.lexsort((present, -c))),
        ("middle", np.lexsort((present, np.abs(np.log(c) - np.log(pivot))))),
        ("tail", np.lexsort((present, c))),
    ):
        picked = [int(present[j]) for j in order if int(present[j]) not in chosen][:entries]
        chosen.update(picked)
        items = []
        for e in picked:
            where = rows[flat == e][:captions]
            caps = []
            for r in where:
                span = locate(texts[r], run.entries[e].as_py())
                if span is not None and span[1] > MAX_TEXT - 1:
                    span = None  # clipped away
                caps.append(
                    {
                        "text": clip(texts[r]),
                        "span": span,
                        "kept": sample.column("kept")[r].as_py()
                        if "kept" in sample.column_names
                        else None,
                        "keep_prob": sample.column("keep_prob")[r].as_py()
                        if "keep_prob" in sample.column_names
                        else None,
                    }
                )
            items.append({**_entry_row(run, e), "captions": caps})
        bands.append({"band": name, "entries": items})
    return bands


def summary(run: Run) -> list[dict]:
    """The summary rows: label, the manifest key (dotted for nested keys) and the raw value."""
    m = run.manifest or {}
    s = run.stats
    rows: list[dict] = []

    def add(label: str, key: str | None, value: object, fmt: str = "", derived: str = "") -> None:
        rows.append({"label": label, "key": key, "value": value, "fmt": fmt, "derived": derived})

    pool_rows = m.get("pool_rows", s.get("rows"))
    add("pool rows", "pool_rows" if m else "match.rows", pool_rows, ",")
    add(
        "rows with no text (null, empty, invalid UTF-8)",
        "match.rows_no_text",
        s.get("rows_no_text"),
        ",",
    )
    add(
        "rows with text",
        None,
        pool_rows - s.get("rows_no_text", 0),
        ",",
        derived="pool_rows - match.rows_no_text",
    )
    add(
        "matched rows (≥ 1 entry)",
        "pool_rows_matched" if m else "match.rows_matched",
        m.get("pool_rows_matched", s.get("rows_matched")),
        ",",
    )
    add("total matches", "match.total_matches", s.get("total_matches"), ",")
    if m:
        add("curated rows (realised)", "curated_rows", m["curated_rows"], ",")
        add("curated rows (expected)", "expected_rows", m["expected_rows"], ",.1f")
        add("sum_e min(count, t)", "sum_min_count_t", m["sum_min_count_t"], ",.1f")
        add("t", "t", m["t"], ".6g")
        add("t chosen from", "t_from", m.get("t_from"))
        add("tail share", "tail_share", m["tail_share"], ".4f")
        add("seed", "seed", m["seed"])
    meta = m.get("metadata") or s.get("metadata") or {}
    add("metadata", "metadata.name", meta.get("name"))
    add("metadata entries", "metadata.entries", meta.get("entries"), ",")
    add("metadata hash", "metadata.hash", meta.get("hash"))
    add("entries hit", "match.entries_hit", s.get("entries_hit"), ",")
    add("mode", "mode" if m else "match.mode", m.get("mode", s.get("mode")))
    add("match seconds", "match.seconds", s.get("seconds"), ".3f")
    if m:
        add("balance seconds", "seconds", m["seconds"], ".3f")
    return rows
