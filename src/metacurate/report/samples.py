"""A bounded sample of pool rows for the report's examples, and where entries sit in them.

The sample is the first rows of up to :data:`SAMPLE_FILES` input files spread evenly over
the input list (so a 100M-row run costs the same as a small one), with each row's caption
read back from its source file and its keep decision from the balance stage's decisions
side-car. Everything downstream takes a table with the columns ``text``, ``entry_ids`` and
``kept`` (null before balancing), so where ``kept`` comes from is decided here alone.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from metacurate.balance.decisions import read_decisions
from metacurate.errors import MetacurateError
from metacurate.files import read_json, reading
from metacurate.match import WRAPPED, spacing
from metacurate.pool.readers import ReadOptions, read_batches
from metacurate.pool.sources import Source
from metacurate.pool.text import shown_text
from metacurate.report.stats import Run, entry_row
from metacurate.storage import AnyPath, parquet_file
from metacurate.workdir import Workdir

#: Rows read from the side-cars (and their source files) for examples; bounds the report's cost.
SAMPLE_ROWS = 20_000
#: Input files the sample is spread over (their first rows, evenly over the input list).
SAMPLE_FILES = 16
#: Longest caption or entry shown as text (characters).
MAX_TEXT = 300

SAMPLE_SCHEMA = pa.schema(
    [
        ("uid", pa.string()),
        ("uid_hash", pa.uint64()),
        ("entry_ids", pa.list_(pa.int32())),
        ("text", pa.string()),
    ]
)


@dataclass(frozen=True)
class SamplePlan:
    """Which inputs the sample reads, and how many rows of each (their first rows)."""

    picks: list[tuple[dict, AnyPath, int]]  # (input, side-car, rows wanted)
    inputs: int  # inputs matched without error

    def describe(self, rows: int) -> str:
        """One sentence for the page: what the sample is."""
        files = len(self.picks)
        where = (
            "the first rows of the pool"
            if files == self.inputs == 1
            else f"the first rows of {files:,} of the {self.inputs:,} input files, spread "
            "evenly over the input list"
        )
        return f"{rows:,} rows: {where}"


def plan_sample(run: Run, limit: int = SAMPLE_ROWS, files: int = SAMPLE_FILES) -> SamplePlan:
    """Up to ``files`` inputs spread over the input list, sharing ``limit`` rows."""
    cars = run.sidecars
    if not cars:
        return SamplePlan([], 0)
    idx = np.unique(np.linspace(0, len(cars) - 1, min(files, len(cars))).astype(np.int64))
    picks = []
    left = limit
    for k, i in enumerate(idx):
        inp, path = cars[int(i)]
        share = math.ceil(left / (len(idx) - k)) if left > 0 else 0
        n = min(share, int(inp.get("rows") or share))
        if n > 0:
            picks.append((inp, path, n))
            left -= n
    return SamplePlan(picks, len(cars))


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
    column = read_json(done)["columns"]["text"]  # a work file: damaged, one line
    try:
        mc = run.stats.get("match_config") or {}
        read = ReadOptions(
            csv_columns=tuple(mc["csv_columns"]) if mc.get("csv_columns") else None,
            batch_rows=max(1, min(limit, 65_536)),  # not a whole row group for a few rows
            s3_endpoint=run.s3_endpoint,
        )
        table = _head_rows(read_batches(Source.from_dict(inp), read, [column]), limit)
    except (MetacurateError, OSError, KeyError, ValueError, pa.ArrowException):
        return None
    return None if table is None else shown_text(table.column(0))


def sample_rows(run: Run, plan: SamplePlan | None = None) -> pa.Table:
    """The rows of ``plan`` (default :func:`plan_sample`): ``uid``, ``uid_hash``,
    ``entry_ids``, ``text`` (null when the source is gone) and ``kept``, ``keep_prob`` as the
    balance stage decided them (its decisions side-cars; null before balancing)."""
    parts = []
    for inp, path, n in (plan or plan_sample(run)).picks:
        with reading(path), parquet_file(path) as pf:
            cols = ["uid", "uid_hash", "entry_ids"]
            side = _head_rows(pf.iter_batches(batch_size=min(n, 65_536), columns=cols), n)
        if side is None:
            continue
        texts = _source_texts(run, inp, len(side))
        if texts is None or len(texts) != len(side):
            if texts is None:
                run.notes.append(f"captions of {inp['path']} not readable now: no examples from it")
            texts = pa.nulls(len(side), pa.string())
        side = side.append_column("text", texts).cast(SAMPLE_SCHEMA)
        parts.append(_with_decisions(run, side, inp["task_id"]))
    if not parts:
        empty = SAMPLE_SCHEMA.append(pa.field("kept", pa.bool_()))
        return empty.append(pa.field("keep_prob", pa.float64())).empty_table()
    return pa.concat_tables(parts).combine_chunks()


def _with_decisions(run: Run, side: pa.Table, task_id: str) -> pa.Table:
    """``side`` with ``kept`` and ``keep_prob`` from the task's decisions side-car (what is on
    disk, per-image choice included), or nulls before balancing."""
    n = len(side)
    kept, prob = pa.nulls(n, pa.bool_()), pa.nulls(n, pa.float64())
    if run.manifest is not None:
        d = read_decisions(run.root, task_id, n)
        if d is None or d.num_rows != n:
            run.notes.append(f"no decisions for {task_id}: rebalance to see kept/dropped examples")
        else:
            kept = d.column("kept").combine_chunks()
            prob = d.column("keep_prob").combine_chunks()
            if run.manifest.get("available") is not None:  # balanced over downloaded rows:
                chosen = d.column("selected").combine_chunks()  # the sample holds those only,
                side = side.filter(chosen)  # as the counts and p_e do
                kept, prob = kept.filter(chosen), prob.filter(chosen)
    return side.append_column("kept", kept).append_column("keep_prob", prob)


# --- text ----------------------------------------------------------------------------------------


def clip(text: str | None, limit: int = MAX_TEXT) -> str | None:
    """``text`` cut to ``limit`` characters (with an ellipsis) so one row cannot bloat a page."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


_SPECIAL = frozenset(WRAPPED) | frozenset("\t\n\r")
#: One regex search instead of a Python loop over the characters (3x faster per caption).
_SPECIAL_RE = re.compile("[" + re.escape("".join(sorted(_SPECIAL))) + "]")
_WRAPPED_RE = re.compile("[" + re.escape("".join(WRAPPED)) + "]")


class Spaced:
    """``spacing(text)`` and the way back from its characters to those of ``text`` (None for
    the spaces ``spacing`` adds), so a match can be marked in the original text.

    ``spacing`` puts one space before the text and one after, writes each of the seven marks
    as ``" m "`` and turns tab/CR/LF into a space. So with ``groups`` the positions in the
    text of the marks, mark ``j`` becomes the three characters from ``1 + groups[j] + 2j`` on,
    and every other character ``i`` sits at ``1 + i + 2J`` (``J`` marks before it): the way
    back is a bisection, not a table per character (built for every caption shown, that
    cost ~50 us each)."""

    def __init__(self, text: str) -> None:
        self.ok = True
        self.size = len(text)
        if _SPECIAL_RE.search(text) is None:  # most captions: spacing adds two spaces
            self.text = f" {text} "
            self.starts: list[int] | None = None
            return
        groups = [m.start() for m in _WRAPPED_RE.finditer(text)]
        self.text = spacing(text)
        self.starts = [1 + g + 2 * j for j, g in enumerate(groups)]
        self.groups = groups
        # spacing() keeps every character in place and adds two per mark and one each side
        # (checked by length; rebuilding the text with re.sub cost ~20 us a caption)
        self.ok = len(self.text) == self.size + 2 + 2 * len(groups)

    def origin(self, p: int) -> int | None:
        """The position in the original text of character ``p`` of the spaced text."""
        if self.starts is None:
            return p - 1 if 0 < p <= self.size else None
        j = bisect_right(self.starts, p) - 1
        if j >= 0 and p - self.starts[j] <= 2:  # inside mark j's " m "
            return self.groups[j] if p - self.starts[j] == 1 else None
        i = p - 1 - 2 * (j + 1)
        return i if 0 <= i < self.size else None

    def locate(self, entry: str) -> tuple[int, int] | None:
        """``(start, stop)`` in the original text of the first match of ``" entry "``."""
        k = self.text.find(f" {entry} ") if self.ok else -1
        if k < 0 or not entry:
            return None
        if self.starts is None:
            return (k, k + len(entry))
        lo, hi = k + 1, k + len(entry)  # the entry's characters in the spaced text
        origin = self.origin
        first = origin(lo)  # a stripped entry starts and ends on a character of the text
        if first is None:
            first = next((o for p in range(lo, hi + 1) if (o := origin(p)) is not None), None)
            if first is None:
                return None
        last = origin(hi)
        if last is None:
            last = next(o for p in range(hi, lo - 1, -1) if (o := origin(p)) is not None)
        return (first, last + 1)


def locate(text: str, entry: str) -> tuple[int, int] | None:
    """Where ``entry`` matched in ``text`` (see :class:`Spaced`); None if it does not match."""
    return Spaced(text).locate(entry)


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


class EntryRows:
    """For a sample table, the rows (with text) each entry occurs in, in row order."""

    def __init__(self, sample: pa.Table) -> None:
        ids = sample.column("entry_ids").combine_chunks()
        offsets = ids.offsets.to_numpy()
        flat = ids.values.to_numpy()[offsets[0] : offsets[-1]]
        rows = np.repeat(np.arange(len(sample)), np.diff(offsets))
        self.texts: list[str | None] = sample.column("text").to_pylist()
        has_text = np.array([bool(x) for x in self.texts], bool)
        keep = has_text[rows] if len(rows) else np.zeros(0, bool)
        flat, rows = flat[keep], rows[keep]
        order = np.argsort(flat, kind="stable")
        self._flat, self._rows = flat[order], rows[order]
        self.present = np.unique(self._flat)

    def rows_of(self, entry_id: int) -> np.ndarray:
        """Row numbers (ascending) of the sample rows with text that match ``entry_id``."""
        lo, hi = np.searchsorted(self._flat, [entry_id, entry_id + 1])
        return self._rows[lo:hi]


def _caption(sample: pa.Table, texts: list, r: int, entry: str, why: dict | None = None) -> dict:
    span = locate(texts[r], entry)
    if span is not None and span[1] > MAX_TEXT - 1:
        span = None  # clipped away
    kept = sample.column("kept")[r].as_py()
    return {
        "text": clip(texts[r]),
        "span": span,
        "kept": kept,
        "keep_prob": None if kept is None else sample.column("keep_prob")[r].as_py(),
        **(why or {}),
    }


def _fresh_rows(er: EntryRows, entry_id: int, used: set[str], k: int, rows=None) -> list[int]:
    """Up to ``k`` rows of ``entry_id`` (among ``rows``, default all of its rows) whose
    caption is not in ``used`` (then added)."""
    out = []
    for r in er.rows_of(entry_id) if rows is None else rows:
        text = er.texts[int(r)]
        if text not in used:
            used.add(text)  # type: ignore[arg-type]
            out.append(int(r))
            if len(out) == k:
                break
    return out


def _both_sides(
    er: EntryRows, kept: np.ndarray, entry_id: int, used: set[str], k: int
) -> list[int]:
    """A head entry's rows: up to ``k`` kept and ``k`` dropped ones (kept first)."""
    rows = er.rows_of(entry_id)
    side = kept[rows]
    return _fresh_rows(er, entry_id, used, k, rows[side]) + _fresh_rows(
        er, entry_id, used, k, rows[~side]
    )


def _why(run: Run, sample: pa.Table, rows: list[int], e: int) -> list[dict]:
    """Per row, the entry's draw ``u(seed[, epoch], uid, e)`` and its ``p_e``: the row is kept
    through ``e`` when ``u < p_e`` (through another of its entries otherwise)."""
    if run.p is None or not rows:
        return [{} for _ in rows]
    from metacurate.balance.keyed_hash import uniform

    epoch = (run.manifest or {}).get("epoch")
    hashes = sample.column("uid_hash").to_numpy()[np.asarray(rows)]
    u = uniform(run.seed, hashes, np.full(len(rows), e, np.int64), epoch=epoch)
    return [{"u": float(x), "p_e": float(run.p[e])} for x in u]


def band_samples(run: Run, sample: pa.Table, entries: int = 3, captions: int = 3) -> list[dict]:
    """Captions for a few head, middle and tail entries found in the sample.

    head: the sample's entries with the largest counts; middle: counts closest to ``t`` (the
    median count of hit entries before balancing); tail: the smallest counts; in both, words
    before numbers at equal distance. No caption is shown twice: an entry whose captions were
    all shown already (a row matching two rare entries) is passed over. Each caption carries
    the row's keep decision and keep_prob when the run was balanced; then a head entry shows
    up to ``captions - 1`` kept and as many dropped rows, each with the entry's draw ``u`` and
    its ``p_e`` (the row is kept through the entry iff ``u < p_e``).
    """
    if not len(sample):
        return []
    er = EntryRows(sample)
    present = er.present
    if not len(present):
        return []
    c = run.counts[present]
    names = run.entries.take(pa.array(present.astype(np.int64))).to_pylist()
    numeric = np.array([str(x).isdigit() for x in names], bool)  # not a pyarrow scalar each
    hit = run.counts[run.counts > 0]
    pivot = run.t if run.t is not None else (float(np.median(hit)) if len(hit) else 1.0)
    used: set[str] = set()  # caption texts shown (the same text in two rows counts once)
    balanced = run.p is not None and sample.column("kept").null_count < len(sample)
    kept = np.asarray(sample.column("kept").fill_null(False).to_numpy(zero_copy_only=False), bool)
    chosen: set[int] = set()
    bands = []
    for name, order in (
        ("head", np.lexsort((present, -c))),
        ("middle", np.lexsort((present, numeric, np.abs(np.log(np.maximum(c, 1) / pivot))))),
        ("tail", np.lexsort((present, numeric, c))),
    ):
        items = []
        for j in order:
            e = int(present[j])
            if e in chosen:
                continue
            if balanced and name == "head":
                where = _both_sides(er, kept, e, used, max(1, captions - 1))
            else:
                where = _fresh_rows(er, e, used, captions)
            if not where:
                continue
            chosen.add(e)
            entry = run.entries[e].as_py()
            why = _why(run, sample, where, e) if balanced else [None] * len(where)
            caps = [
                _caption(sample, er.texts, r, entry, w) for r, w in zip(where, why, strict=True)
            ]
            items.append({**entry_row(run, e), "captions": caps})
            if len(items) == entries:
                break
        bands.append({"band": name, "entries": items})
    return bands
