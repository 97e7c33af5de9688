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
from collections.abc import Callable, Iterator
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
    where = np.full(len(entries), -1, np.int64)
    where[ids] = np.arange(len(ids))
    texts = sample.column("text").to_pylist()
    kept = sample.column("kept").to_pylist()
    cands, seen = _candidates(sample, texts, kept, where, len(ids))
    shown = entries.take(pa.array(np.asarray(ids, np.int64))).to_pylist()
    quota = ([0] * len(ids), [0] * len(ids))  # examples taken, per side
    rows_text: list[str] = []
    rows_kept: list[int | None] = []
    examples: dict[int, list[int]] = {}
    used: set[int] = set()
    for k in range(per_side):
        for r, side, here in cands():
            if len(rows_text) >= max_rows:
                break
            q = quota[side]
            if r in used or min(map(q.__getitem__, here)) > k:  # no entry here still short
                continue
            used.add(r)
            spaced = Spaced(texts[r])
            row = len(rows_text)
            rows_text.append(clip(texts[r], EXAMPLE_TEXT))
            rows_kept.append(None if kept[r] is None else int(kept[r]))
            for j in here:
                if q[j] < per_side:
                    q[j] += 1
                    span = spaced.locate(shown[j])
                    a, b = span if span is not None and span[1] < EXAMPLE_TEXT else (-1, -1)
                    examples.setdefault(j, []).extend((row, a, b))
    return {
        "rows": {"text": rows_text, "kept": rows_kept},
        "examples": {str(j): v for j, v in examples.items()},
        "sample_rows": (seen[:, 0] + seen[:, 1]).tolist(),
        "sample_kept": seen[:, 0].tolist(),
    }


def _candidates(
    sample: pa.Table, texts: list, kept: list, where: np.ndarray, n: int
) -> tuple[Callable[[], Iterator[tuple[int, int, list[int]]]], np.ndarray]:
    """A generator of the rows of ``sample`` with a caption that match some of the ``n`` entries
    shown (``where``: entry id -> position, -1 when not shown), as ``(row, side, entry
    positions)`` in row order (side 0 kept, 1 dropped), and per position its rows per side
    (``seen``).
    In numpy over the flattened match lists (a Python loop per match cost ~0.3 s per 20,000
    sample rows)."""
    col = sample.column("entry_ids")
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    flat = pc.list_flatten(col).to_numpy(zero_copy_only=False).astype(np.int64)
    parent = pc.list_parent_indices(col).to_numpy(zero_copy_only=False)
    has_text = np.fromiter((bool(t) for t in texts), bool, len(texts))
    side_of = np.fromiter((0 if k is None or k else 1 for k in kept), np.int8, len(kept))
    pos = where[flat] if len(flat) else np.zeros(0, np.int64)
    shown = (pos >= 0) & has_text[parent]
    pos, rows = pos[shown], parent[shown]
    sides = side_of[rows]
    seen = np.stack([np.bincount(pos[sides == s], minlength=n) for s in (0, 1)], axis=1)
    starts = np.flatnonzero(np.diff(rows, prepend=-1)).tolist()  # first match of each row
    ends = starts[1:] + [len(rows)] if starts else []
    pl, rl, sl = pos.tolist(), rows.tolist(), sides.tolist()

    def cands() -> Iterator[tuple[int, int, list[int]]]:  # made as read: a pass stops early
        for a, b in zip(starts, ends, strict=True):
            yield rl[a], sl[a], pl[a:b]

    return cands, seen


def explorer_data(run: Run, sample: pa.Table, max_entries: int = MAX_ENTRIES) -> dict:
    """Everything the explorer embeds (see the module docstring)."""
    ids = embedded_entries(run, max_entries)
    shown = run.entries.take(pa.array(np.asarray(ids, np.int64))).to_pylist()
    strings = [clip(x, ENTRY_TEXT) for x in shown]  # not a pyarrow scalar per entry
    balanced = run.counts_curated is not None and run.p is not None
    ex = pick_examples(sample, run.entries, ids)
    return {
        "balanced": balanced,
        "t": run.t,
        "entries_hit": int(np.count_nonzero(run.counts)),
        "embedded": len(ids),
        "max_entries": max_entries,
        "total_before": int(run.counts.sum()),
        "total_after": int(run.counts_curated.sum()) if balanced else None,
        "sample_size": len(sample),
        "entries": {
            "id": ids.tolist(),
            "s": strings,
            "c": run.counts[ids].tolist(),
            "a": run.counts_curated[ids].tolist() if balanced else None,
            "p": [_round(float(x)) for x in run.p[ids]] if balanced else None,
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
        "matches. Click a row for example captions, kept and dropped, with the entry marked. "
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
        '<div id="entry-detail" class="explore-detail"><p class="note">Click an entry.</p></div>'
        "</div>"
        '<noscript><p class="note">The explorer needs JavaScript (inline, no network).</p>'
        "</noscript>"
        f'<script type="application/json" id="explore-data">{script_json(data)}</script>'
    )
