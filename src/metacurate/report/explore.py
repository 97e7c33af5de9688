"""The report's entry explorer: the data it embeds and its HTML.

The page carries a JSON block (every entry hit, up to :data:`MAX_ENTRIES`, largest counts
first: entry, id, count before and after balancing, ``p_e``, and how often it occurs in the
sample) and example captions from the sample, kept and dropped, with where the entry
matched. ``assets/explore.js`` (inline, no network) turns it into a search box, a sortable
table and a detail panel. The examples are picked from a table with the columns ``text``,
``entry_ids`` and ``kept`` (null before balancing), whatever produced ``kept``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.report.samples import Spaced, clip
from metacurate.report.stats import Run

#: Entries embedded (the largest counts first); the page says when entries are left out.
MAX_ENTRIES = 20_000
#: Example captions per entry and side (kept / dropped).
EXAMPLES_PER_SIDE = 3
#: Sample rows whose captions are embedded, at most.
MAX_EXAMPLE_ROWS = 5_000
#: Characters of a caption embedded.
EXAMPLE_TEXT = 240
#: Characters of an entry embedded.
ENTRY_TEXT = 100


def asset(name: str) -> str:
    """A file of ``report/assets`` (the explorer's JS and CSS), as text."""
    return resources.files("metacurate.report").joinpath("assets", name).read_text("utf-8")


def script_json(obj: object) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&``
    appear literally, so no caption can close the element."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def embedded_entries(run: Run, limit: int = MAX_ENTRIES) -> np.ndarray:
    """Ids of the entries hit, largest count first (ties by id), at most ``limit``."""
    hit = np.flatnonzero(run.counts > 0)
    order = np.lexsort((hit, -run.counts[hit]))
    return hit[order][:limit]


def _round(x: float) -> float | int:
    return 1 if x == 1.0 else float(f"{x:.6g}")


def pick_examples(
    sample: pa.Table,
    entries: pa.Array,
    ids: np.ndarray,
    per_side: int = EXAMPLES_PER_SIDE,
    max_rows: int = MAX_EXAMPLE_ROWS,
) -> dict:
    """Example captions for the entries ``ids`` from ``sample`` (``text``, ``entry_ids``,
    ``kept``): up to ``per_side`` kept and ``per_side`` dropped rows per entry, at most
    ``max_rows`` distinct rows in all, spent so that as many entries as possible get a first
    example before any gets a second (passes over the sample in row order).

    Returns the embedded rows (``text``, ``kept``), per entry position its examples as flat
    ``[row, start, stop, ...]`` (``start = -1`` when the match lies past the clipped text),
    and per entry its rows and kept rows in the whole sample.
    """
    shown = entries.take(pa.array(np.asarray(ids, np.int64))).to_pylist()
    return _pick(sample, shown, ids, len(entries), per_side, max_rows)


def _pick(
    sample: pa.Table,
    shown: list[str],
    ids: np.ndarray,
    n_entries: int,
    per_side: int,
    max_rows: int,
) -> dict:
    """:func:`pick_examples` given the entries shown (``shown[k]`` is entry ``ids[k]``) and
    the number of entries."""
    where = np.full(n_entries, -1, np.int64)
    where[ids] = np.arange(len(ids))
    texts = sample.column("text").to_pylist()
    kept = sample.column("kept").to_pylist()
    m = _shown_matches(sample, texts, kept, where)
    n = len(ids)
    key = m.sides.astype(np.int64) * n + m.pos  # (side, entry position)
    seen = np.bincount(key, minlength=2 * n).reshape(2, n).T
    picked, chosen_j, chosen_row = _first_pass(m, key, per_side, max_rows)
    if len(picked) < max_rows and per_side > 1:
        quota = np.minimum(np.bincount(key[np.isin(m.rows, picked)], minlength=2 * n), per_side)
        _later_passes(
            m, quota.reshape(2, n).tolist(), per_side, max_rows, picked, chosen_j, chosen_row
        )
    examples: dict[int, list[int]] = {}
    spaced = None
    last = -1
    for j, row in zip(chosen_j, chosen_row, strict=True):
        if row != last:  # examples come grouped by row
            spaced, last = Spaced(texts[picked[row]]), row
        span = spaced.locate(shown[j])
        a, b = span if span is not None and span[1] < EXAMPLE_TEXT else (-1, -1)
        examples.setdefault(j, []).extend((row, a, b))
    return {
        "rows": {
            "text": [clip(texts[r], EXAMPLE_TEXT) for r in picked],
            "kept": [None if kept[r] is None else int(kept[r]) for r in picked],
        },
        "examples": {str(j): v for j, v in examples.items()},
        "sample_rows": (seen[:, 0] + seen[:, 1]).tolist(),
        "sample_kept": seen[:, 0].tolist(),
    }


@dataclass(frozen=True)
class _Matches:
    """The matches of shown entries in sample rows with a caption, in row order: entry
    position, row, side of the row (0 kept or not balanced, 1 dropped)."""

    pos: np.ndarray
    rows: np.ndarray
    sides: np.ndarray


def _shown_matches(sample: pa.Table, texts: list, kept: list, where: np.ndarray) -> _Matches:
    """:class:`_Matches` of ``sample`` (``where``: entry id -> position, -1 when not shown).
    In numpy over the flattened match lists (a Python loop per match cost ~0.3 s per 20,000
    sample rows)."""
    col = sample.column("entry_ids")
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    flat = pc.list_flatten(col).to_numpy(zero_copy_only=False).astype(np.int64)
    parent = pc.list_parent_indices(col).to_numpy(zero_copy_only=False).astype(np.int64)
    has_text = np.fromiter((bool(t) for t in texts), bool, len(texts))
    side_of = np.fromiter((0 if k is None or k else 1 for k in kept), np.int8, len(kept))
    pos = where[flat] if len(flat) else np.zeros(0, np.int64)
    shown = (pos >= 0) & has_text[parent]
    return _Matches(pos[shown], parent[shown], side_of[parent[shown]])


def _first_pass(
    m: _Matches, key: np.ndarray, per_side: int, max_rows: int
) -> tuple[list[int], list[int], list[int]]:
    """The first pass, in numpy: a row is taken while some entry shown in it has no example
    on its side yet, which holds exactly for the first row of each side matching that entry
    (the first such row is always taken). Each entry's examples on a side are then its first
    ``per_side`` taken rows there. Returns the rows taken, and per example its entry
    position and the index of its row among those taken, in the order the loop made them."""
    if not len(key) or max_rows <= 0:
        return [], [], []
    picked = np.unique(m.rows[_firsts(key, np.arange(len(key)))])[:max_rows]
    in_picked = np.zeros(int(m.rows[-1]) + 1, bool)
    in_picked[picked] = True
    left = np.flatnonzero(in_picked[m.rows])  # the matches in rows taken, in order
    sel = []
    for _ in range(per_side):  # each (side, entry)'s first match left, per_side times
        firsts = _firsts(key[left], left)
        sel.append(firsts)
        left = left[~np.isin(left, firsts, assume_unique=True)]
    sel = np.sort(np.concatenate(sel))  # back to the loop's order
    rows_out = np.searchsorted(picked, m.rows[sel])
    return picked.tolist(), m.pos[sel].tolist(), rows_out.tolist()


def _firsts(key: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Per distinct value of ``key``, the smallest ``index`` it has (``ufunc.at``: no sort)."""
    first = np.full(int(key.max()) + 1 if len(key) else 0, np.iinfo(np.int64).max)
    np.minimum.at(first, key, index)
    return first[first != np.iinfo(np.int64).max]


def _later_passes(
    m: _Matches,
    quota: list[list[int]],
    per_side: int,
    max_rows: int,
    picked: list[int],
    chosen_j: list[int],
    chosen_row: list[int],
) -> None:
    """Passes ``k = 1 ..`` as a loop (reached only when the first pass left budget: small
    samples): a row not taken yet is taken while some entry shown in it has at most ``k``
    examples on its side. Extends ``picked`` and the examples in place."""
    starts = np.flatnonzero(np.diff(m.rows, prepend=-1)).tolist()  # first match of each row
    ends = starts[1:] + [len(m.rows)] if starts else []
    pl, rl, sl = m.pos.tolist(), m.rows.tolist(), m.sides.tolist()
    used = set(picked)
    for k in range(1, per_side):
        for a, b in zip(starts, ends, strict=True):
            if len(picked) >= max_rows:
                return
            r, q, here = rl[a], quota[sl[a]], pl[a:b]
            if r in used or min(map(q.__getitem__, here)) > k:  # no entry here still short
                continue
            used.add(r)
            row = len(picked)
            picked.append(r)
            for j in here:
                if q[j] < per_side:
                    q[j] += 1
                    chosen_j.append(j)
                    chosen_row.append(row)


@dataclass(frozen=True)
class ExplorerInput:
    """What the explorer section needs of a run: the entries shown and their numbers, and
    the sample (small enough to hand to another process: :func:`explorer_section`)."""

    ids: np.ndarray
    shown: pa.Array  # the entries ``ids``
    n_entries: int
    entries_hit: int
    count: np.ndarray  # of the entries shown
    count_curated: np.ndarray | None
    p: np.ndarray | None
    t: float | None
    total_before: int
    total_after: int | None
    sample: pa.Table  # text, entry_ids, kept
    sample_note: str


def explorer_input(
    run: Run, sample: pa.Table, sample_note: str = "", max_entries: int = MAX_ENTRIES
) -> ExplorerInput:
    """The :class:`ExplorerInput` of a loaded run and its sample."""
    ids = embedded_entries(run, max_entries)
    balanced = run.counts_curated is not None and run.p is not None
    return ExplorerInput(
        ids=ids,
        shown=run.entries.take(pa.array(np.asarray(ids, np.int64))),
        n_entries=len(run.entries),
        entries_hit=int(np.count_nonzero(run.counts)),
        count=run.counts[ids],
        count_curated=run.counts_curated[ids] if balanced else None,
        p=run.p[ids] if balanced else None,
        t=run.t,
        total_before=int(run.counts.sum()),
        total_after=int(run.counts_curated.sum()) if balanced else None,
        sample=sample.select(["text", "entry_ids", "kept"]),
        sample_note=sample_note,
    )


def explorer_data(run: Run, sample: pa.Table, max_entries: int = MAX_ENTRIES) -> dict:
    """Everything the explorer embeds (see the module docstring)."""
    return _data(explorer_input(run, sample, max_entries=max_entries), max_entries)


def explorer_section(inp: ExplorerInput, max_entries: int = MAX_ENTRIES) -> str:
    """The explorer section's HTML (a pure function of ``inp``: the report runs it in
    another process while it makes the other sections)."""
    return explore_html(_data(inp, max_entries), inp.sample_note)


def _data(inp: ExplorerInput, max_entries: int) -> dict:
    shown = inp.shown.to_pylist()
    strings = [clip(x, ENTRY_TEXT) for x in shown]  # not a pyarrow scalar per entry
    balanced = inp.p is not None
    ex = _pick(inp.sample, shown, inp.ids, inp.n_entries, EXAMPLES_PER_SIDE, MAX_EXAMPLE_ROWS)
    return {
        "balanced": balanced,
        "t": inp.t,
        "entries_hit": inp.entries_hit,
        "embedded": len(inp.ids),
        "max_entries": max_entries,
        "total_before": inp.total_before,
        "total_after": inp.total_after,
        "sample_size": len(inp.sample),
        "entries": {
            "id": inp.ids.tolist(),
            "s": strings,
            "c": inp.count.tolist(),
            "a": inp.count_curated.tolist() if balanced else None,
            "p": [_round(float(x)) for x in inp.p] if balanced else None,
            "n": ex["sample_rows"],
            "k": ex["sample_kept"],
        },
        "rows": ex["rows"],
        "examples": ex["examples"],
        "per_side": EXAMPLES_PER_SIDE,
    }


def explore_html(data: dict, sample_note: str) -> str:
    """The body of the explorer section: notes, search box, table, detail panel and data."""
    e = html.escape
    cap = (
        f"all {data['entries_hit']:,} entries hit are here"
        if data["embedded"] == data["entries_hit"]
        else f"the {data['embedded']:,} largest of the {data['entries_hit']:,} entries hit are "
        f"here (the cap is {data['max_entries']:,}; look others up with "
        "<code>metacurate explain TEXT --workdir OUT</code>)"
    )
    return (
        f'<p class="note">Search any entry: {cap}. Counts before and after balancing and '
        "p_e are the run's (curated_entry_counts.parquet); share = the entry's part of all "
        "matches. The panel shows the largest entry until you click a row: then that entry's "
        "numbers and example captions, kept and dropped, with the entry marked. "
        f"Captions come from a sample of {e(sample_note)}; at most "
        f"{data['per_side']} kept and {data['per_side']} dropped captions per entry and "
        f"{MAX_EXAMPLE_ROWS:,} captions in all are embedded.</p>"
        '<div class="explore"><div class="explore-list">'
        '<input id="entry-search" type="search" autocomplete="off" spellcheck="false" '
        'placeholder="search entries, e.g. cat" aria-label="search entries">'
        '<p id="entry-status" class="note"></p>'
        '<div class="scroll"><table id="entry-table"><thead><tr>'
        '<th data-col="s">entry</th><th class="num" data-col="id">id</th>'
        '<th class="num" data-col="c">count</th><th class="num" data-col="a">after</th>'
        '<th class="num" data-col="k">kept</th><th class="num" data-col="p">p_e</th>'
        '<th class="num" data-col="sh">share</th><th class="num" data-col="sa">share after</th>'
        "</tr></thead><tbody></tbody></table></div></div>"
        '<div id="entry-detail" class="explore-detail"><p class="note">Click a row of the '
        "table for the entry's numbers and example captions.</p></div>"
        "</div>"
        '<noscript><p class="note">The explorer needs JavaScript (inline, no network).</p>'
        "</noscript>"
        f'<script type="application/json" id="explore-data">{script_json(data)}</script>'
    )
