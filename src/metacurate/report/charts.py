"""The report's charts: matplotlib's object API with the Agg renderer (no pyplot, no global
backend switch), returned as ``data:`` URIs so the page needs no other file."""

from __future__ import annotations

import base64
import io

import numpy as np

from metacurate.report import stats as S


def _png(fig) -> str:
    """A matplotlib figure as a ``data:`` URI (PNG)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float = 6.4, height: float = 3.9):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.14, top=0.96)  # fixed: layout engines
    return fig, fig.add_subplot()  # cost ~0.2 s a chart


# --- charts --------------------------------------------------------------------------------------


def chart_ranked(run: S.Run) -> str:
    """Log-log ranked entry counts before and after balancing, with ``t``."""
    fig, ax = _figure()
    r, c = S.ranked_counts(run.counts)
    if len(r):
        ax.plot(r, c, color="#2f6fd6", lw=1.6, label="pool (before)")
    if run.counts_curated is not None:
        r2, c2 = S.ranked_counts(run.counts_curated)
        if len(r2):
            ax.plot(r2, c2, color="#e07b28", lw=1.6, label="curated (after)")
    if run.t is not None:
        ax.axhline(run.t, color="#444", ls="--", lw=1, label=f"t = {run.t:.6g}")
    if len(r):
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("entry rank (by its own count, largest first)")
    ax.set_ylabel("rows matching the entry")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper right", fontsize=9)
    return _png(fig)


def tail_label_offset(split: float, y: float) -> tuple[tuple[float, float], str]:
    """Where the tail label goes, in points from the split point, and its alignment: to the
    right of a split in the left half (so a small ``t`` does not push it off the left edge),
    to the left otherwise; below a point in the top quarter, above elsewhere."""
    dx, ha = (14.0, "left") if split < 0.5 else (-14.0, "right")
    dy = -44.0 if y > 0.75 else 24.0
    return (dx, dy), ha


def cumulative_figure(run: S.Run):
    """The cumulative-share figure, its curve data and the tail label (None without ``t``)."""
    cum = S.cumulative_share(run.counts, run.counts_curated, run.t)
    fig, ax = _figure()
    label = None
    if cum["n"]:
        ax.plot(cum["x"], cum["before"], color="#2f6fd6", lw=1.8, label="pool (before)")
        if cum["after"] is not None:
            ax.plot(cum["x"], cum["after"], color="#e07b28", lw=1.8, label="curated (after)")
        if cum["split"] is not None:
            split = cum["split"]
            ax.axvline(split, color="#444", ls="--", lw=1, label="head/tail split (count = t)")
            ax.axvspan(0, split, color="#2f6fd6", alpha=0.06)
            y = float(np.interp(split, cum["x"], cum["before"]))
            ax.plot([split], [y], "o", color="#2f6fd6")
            offset, ha = tail_label_offset(split, y)
            label = ax.annotate(
                f"tail: {split:.1%} of entries,\n{y:.1%} of matches",
                (split, y),
                xytext=offset,
                textcoords="offset points",
                ha=ha,
                fontsize=9,
                arrowprops={"arrowstyle": "-", "color": "#888"},
            )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.0)
    ax.set_xlabel(f"fraction of matched entries, sorted by pool count ({cum['n']:,} entries)")
    ax.set_ylabel("cumulative share of matches")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
    return fig, cum, label


def chart_cumulative(run: S.Run) -> tuple[str, dict]:
    """Cumulative share of matches over entries sorted by count (tail → head), as PNG."""
    fig, cum, _ = cumulative_figure(run)
    return _png(fig), cum


def chart_histogram(hist: np.ndarray) -> str:
    """Rows by number of matched entries."""
    fig, ax = _figure()
    total = max(int(hist.sum()), 1)
    labels = [str(k) for k in range(len(hist) - 1)] + [f"≥{len(hist) - 1}"]
    colors = ["#a33"] + ["#2f6fd6"] * (len(hist) - 1)
    ax.bar(range(len(hist)), hist / total * 100, color=colors)
    ax.set_xticks(range(len(hist)), labels, fontsize=8)
    ax.set_xlabel("entries matched by the caption")
    ax.set_ylabel("% of pool rows")
    ax.grid(True, axis="y", alpha=0.3)
    return _png(fig)
