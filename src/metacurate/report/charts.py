"""The report's charts as inline SVG (``report/svg.py``), so the page needs no other file.

No matplotlib: importing it and rendering three PNGs cost about 2 s of CPU per report, most of
a report's cost on a 1M-row run (docs/performance.md, "Fixed costs"); these take milliseconds.
"""

from __future__ import annotations

import html

import numpy as np

from metacurate.report import stats as S
from metacurate.report import svg


def figure(chart: str, alt: str, caption: str) -> str:
    """A chart (inline SVG) labelled by ``alt``, with its caption (both HTML-escaped)."""
    alt, caption = (html.escape("" if x is None else str(x), quote=True) for x in (alt, caption))
    return f'<figure aria-label="{alt}">{chart}<figcaption>{caption}</figcaption></figure>'


def chart_ranked(run: S.Run) -> str:
    """Log-log ranked entry counts before and after balancing, with ``t``."""
    r, c = S.ranked_counts(run.counts)
    r2 = c2 = np.zeros(0)
    if run.counts_curated is not None:
        r2, c2 = S.ranked_counts(run.counts_curated)
    y_lo, y_hi = svg.log_range(c, c2, np.array([run.t or 0.0]))
    x_lo, x_hi = svg.log_range(r.astype(np.float64), r2.astype(np.float64))
    chart = svg.Chart(
        svg.Axis(x_lo, x_hi, "entry rank (by its own count, largest first)", log=True),
        svg.Axis(y_lo, y_hi, "rows matching the entry", log=True),
        "ranked entry counts, log-log, before and after balancing",
    )
    chart.line(r, c, "#2f6fd6", "pool (before)")
    if run.counts_curated is not None:
        chart.line(r2, c2, "#e07b28", "curated (after)")
    if run.t is not None:
        chart.hline(run.t, "#444", f"t = {run.t:.6g}")
    return chart.svg("right")


def tail_label_offset(split: float, y: float) -> tuple[tuple[float, float], str]:
    """Where the tail label goes, in pixels from the split point (y up), and its alignment: to
    the right of a split in the left half (so a small ``t`` does not push it off the left
    edge), to the left otherwise; below a point in the top quarter, above elsewhere."""
    dx, ha = (10.0, "left") if split < 0.5 else (-10.0, "right")
    dy = -44.0 if y > 0.75 else 30.0
    return (dx, dy), ha


def cumulative_figure(run: S.Run) -> tuple[svg.Chart, dict, svg.Label | None]:
    """The cumulative-share chart, its curve data and the tail label (None without ``t``)."""
    cum = S.cumulative_share(run.counts, run.counts_curated, run.t)
    chart = svg.Chart(
        svg.Axis(0.0, 1.0, f"fraction of matched entries, sorted by pool count ({cum['n']:,})"),
        svg.Axis(0.0, 1.0, "cumulative share of matches"),
        "cumulative share of matches over entries sorted by count",
    )
    label = None
    if cum["n"]:
        if cum["split"] is not None:
            chart.shade(0.0, cum["split"], "#2f6fd6")
        chart.line(cum["x"], cum["before"], "#2f6fd6", "pool (before)")
        if cum["after"] is not None:
            chart.line(cum["x"], cum["after"], "#e07b28", "curated (after)")
        if cum["split"] is not None:
            split = cum["split"]
            chart.vline(split, "#444", "head/tail split (count = t)")
            y = float(np.interp(split, cum["x"], cum["before"]))
            offset, ha = tail_label_offset(split, y)
            text = f"tail: {split:.1%} of entries,\n{y:.1%} of matches"
            label = chart.point(split, y, "#2f6fd6", text, offset, ha)
    return chart, cum, label


def chart_cumulative(run: S.Run) -> tuple[str, dict]:
    """Cumulative share of matches over entries sorted by count (tail → head), as SVG."""
    chart, cum, _ = cumulative_figure(run)
    return chart.svg("left"), cum


def chart_histogram(hist: np.ndarray) -> str:
    """Rows by number of matched entries."""
    total = max(int(hist.sum()), 1)
    share = hist / total * 100
    labels = [str(k) for k in range(len(hist) - 1)] + [f"≥{len(hist) - 1}"]
    step = 1.0 / max(len(hist), 1)
    top = max(float(share.max()) * 1.08, 1.0) if len(share) else 1.0
    chart = svg.Chart(
        svg.Axis(
            0.0,
            1.0,
            "entries matched by the caption",
            ticks=tuple(((i + 0.5) * step, lab) for i, lab in enumerate(labels)),
        ),
        svg.Axis(0.0, top, "% of pool rows"),
        "rows by number of matched entries",
    )
    chart.bars(share.tolist(), ["#a33"] + ["#2f6fd6"] * (len(hist) - 1))
    return chart.svg()
