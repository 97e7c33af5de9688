"""The curation report: one self-contained HTML file (inline CSS, charts as base64 PNG).

Nothing in the page points outside it, so it opens offline and can be mailed or archived as
is. Curves are downsampled (``stats.MAX_POINTS``) and every table is bounded, so the file size
does not grow with the pool or the metadata. Charts use matplotlib's object API with the Agg
renderer directly (no pyplot, no global backend switch).
"""

from __future__ import annotations

import base64
import html
import io
import time
from pathlib import Path

import numpy as np

from metacurate._version import __version__
from metacurate.report import stats as S
from metacurate.report.languages import languages_html

SECTIONS = (
    ("summary", "Summary"),
    ("ranked-counts", "Entry counts"),
    ("cumulative", "Cumulative share"),
    ("matches-per-caption", "Matches per caption"),
    ("top-entries", "Largest entries"),
    ("never-matched", "Never matched"),
    ("samples", "Sample captions"),
)

_CSS = """
:root { --fg:#1d2330; --muted:#5b6475; --line:#d9dde5; --bg:#f6f7f9; --accent:#2f6fd6; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:var(--fg); background:var(--bg); }
header { background:#1d2330; color:#fff; padding:14px 28px; }
header h1 { margin:0; font-size:21px; } header p { margin:2px 0 0; color:#c4cad6; font-size:13px; }
nav { position:sticky; top:0; background:#fff; border-bottom:1px solid var(--line);
  padding:8px 28px; font-size:14px; z-index:1; }
nav a { margin-right:16px; color:var(--accent); text-decoration:none; }
main { max-width:1240px; margin:0 auto; padding:8px 28px 40px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:14px 20px;
  margin:16px 0; }
h2 { font-size:18px; margin:2px 0 8px; }
h3 { font-size:15px; margin:12px 0 4px; }
p.note { color:var(--muted); margin:4px 0 8px; font-size:13.5px; }
.grid { display:grid; grid-template-columns:repeat(auto-fit,minmax(480px,1fr)); gap:0 16px; }
figure img { max-width:760px; }
figure { margin:0; } figure img { width:100%; height:auto; display:block; }
figcaption { color:var(--muted); font-size:13px; margin-top:4px; }
table { border-collapse:collapse; width:100%; font-size:14px; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line);
  vertical-align:top; }
th { background:var(--bg); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.kv { display:grid; grid-template-columns:repeat(auto-fit,minmax(360px,1fr)); gap:0 28px; }
.kv td:first-child { color:var(--muted); } .kv td:last-child { text-align:right; }
mark { background:#fff0a8; padding:0 1px; }
code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:13px; }
.hash { word-break:break-all; }
.cap { white-space:pre-wrap; word-break:break-word; }
.kept { color:#19734a; font-weight:600; } .dropped { color:#a33; font-weight:600; }
ul.examples { margin:4px 0; padding-left:20px; } ul.examples li { margin:2px 0; }
.chips span { display:inline-block; background:var(--bg); border:1px solid var(--line);
  border-radius:4px; padding:1px 6px; margin:2px; font-size:13px; }
"""


def _e(value: object) -> str:
    """HTML-escape any value (captions and entries are untrusted text)."""
    return html.escape("" if value is None else str(value), quote=True)


def _fmt(value: object, fmt: str) -> str:
    if value is None:
        return "–"
    if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, fmt)
    return str(value)


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


def _img(uri: str, alt: str, caption: str) -> str:
    return (
        f'<figure><img alt="{_e(alt)}" src="{uri}"><figcaption>{_e(caption)}</figcaption></figure>'
    )


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


def chart_cumulative(run: S.Run) -> tuple[str, dict]:
    """Cumulative share of matches over entries sorted by count (tail → head)."""
    cum = S.cumulative_share(run.counts, run.counts_curated, run.t)
    fig, ax = _figure()
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
            ax.annotate(
                f"tail: {split:.1%} of entries,\n{y:.1%} of matches",
                (split, y),
                xytext=(-12, 24),
                textcoords="offset points",
                ha="right",
                fontsize=9,
                arrowprops={"arrowstyle": "-", "color": "#888"},
            )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.0)
    ax.set_xlabel(f"fraction of matched entries, sorted by pool count ({cum['n']:,} entries)")
    ax.set_ylabel("cumulative share of matches")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
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


# --- sections ------------------------------------------------------------------------------------


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{_e(title)}</h2>\n{body}\n</section>'


def _summary_html(run: S.Run) -> str:
    rows = S.summary(run)
    cells = []
    for r in rows:
        attrs = ""
        if r["key"] is not None:
            attrs += f' data-key="{_e(r["key"])}"'
        if r["derived"]:
            attrs += f' data-derived="{_e(r["derived"])}"'
        if r["value"] is not None:
            attrs += f' data-value="{_e(r["value"])}"'
        cls = (
            "num"
            if isinstance(r["value"], (int, float))
            else ("mono hash" if "hash" in (r["key"] or "") else "")
        )
        cells.append(
            f'<tr><td>{_e(r["label"])}</td><td class="{cls}"{attrs}>'
            f"{_e(_fmt(r['value'], r['fmt']))}</td></tr>"
        )
    half = (len(cells) + 1) // 2
    body = (
        f'<div class="kv"><table>{"".join(cells[:half])}</table>'
        f"<table>{''.join(cells[half:])}</table></div>"
    )
    m = run.manifest or {}
    if m.get("expected_note"):
        body += f'<p class="note">{_e(m["expected_note"])}</p>'
    if m.get("command"):
        body += f'<p class="note">command: <code>{_e(m["command"])}</code></p>'
    for note in dict.fromkeys(run.notes):
        body += f'<p class="note">note: {_e(note)}</p>'
    return body


def _entries_table(items: list[dict]) -> str:
    head = (
        "<tr><th class='num'>#</th><th class='num'>entry_id</th><th>entry</th>"
        "<th class='num'>count</th><th class='num'>p_e</th>"
        "<th class='num'>count after balancing</th></tr>"
    )
    body = []
    for i, it in enumerate(items, 1):
        body.append(
            f"<tr><td class='num'>{i}</td><td class='num'>{it['entry_id']}</td>"
            f"<td class='mono'>{_e(it['entry'])}</td>"
            f"<td class='num'>{it['count']:,}</td>"
            f"<td class='num'>{_e(_fmt(it['p'], '.4g'))}</td>"
            f"<td class='num'>{_e(_fmt(it['count_curated'], ','))}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def _decision(c: dict) -> str:
    if c["kept"] is None:
        return ""
    cls, word = ("kept", "kept") if c["kept"] else ("dropped", "dropped")
    return f'<span class="{cls}">{word}</span> <span class="mono">p={c["keep_prob"]:.3f}</span>'


def _marked(text: str, span: tuple[int, int] | None) -> str:
    """``text`` escaped, with the matched entry in ``<mark>``."""
    if span is None:
        return _e(text)
    a, b = span
    return f"{_e(text[:a])}<mark>{_e(text[a:b])}</mark>{_e(text[b:])}"


def _samples_html(run: S.Run, bands: list[dict], sample_rows: int) -> str:
    if not bands:
        return '<p class="note">no captions available (sources not readable or no matches).</p>'
    pivot = f"t = {run.t:.6g}" if run.t is not None else "the median count"
    out = [
        f'<p class="note">From the first {sample_rows:,} pool rows. head: the largest entries '
        f"seen there; middle: counts closest to {_e(pivot)}; tail: the smallest counts. Each "
        "caption shows its row's keep decision under the run's seed and its keep_prob "
        "1 − Π(1 − p_e).</p>"
    ]
    for band in bands:
        out.append(f"<h3>{_e(band['band'])}</h3>")
        rows = []
        for it in band["entries"]:
            caps = "".join(
                f'<li><span class="cap">{_marked(c["text"], c["span"])}</span> {_decision(c)}</li>'
                for c in it["captions"]
            )
            p = "" if it["p"] is None else f", p_e {it['p']:.4g}"
            rows.append(
                f"<tr><td class='mono' style='width:26%'>{_e(it['entry'])}<br>"
                f"<span class='note'>id {it['entry_id']}, count {it['count']:,}{p}</span></td>"
                f"<td><ul class='examples'>{caps}</ul></td></tr>"
            )
        out.append(f"<table>{''.join(rows)}</table>")
    return "\n".join(out)


def render_report(run: S.Run) -> str:
    """The report page for a loaded run, as an HTML string."""
    started = time.perf_counter()
    sidecars = [p for _, p in run.sidecars]
    hist = S.matches_per_caption(sidecars)
    sample = S.sample_rows(run)
    parts: dict[str, str] = {}

    parts["summary"] = _summary_html(run)

    t_txt = f" The dashed line is t = {run.t:.6g}." if run.t is not None else ""
    parts["ranked-counts"] = (
        '<p class="note">Rows matching each entry, entries ranked by count (log-log). Balancing '
        "samples each head entry (count &ge; t) with p = t / count and keeps the tail "
        "(count &lt; t) whole; it keeps rows, not matches, so a head entry's count after "
        "balancing also includes rows kept for another of their entries and can stay above t."
        + _e(t_txt)
        + "</p>"
        + _img(
            chart_ranked(run),
            "ranked entry counts, log-log, before and after balancing",
            f"{int(np.count_nonzero(run.counts)):,} entries with count > 0 before; "
            + (
                f"{int(np.count_nonzero(run.counts_curated)):,} after."
                if run.counts_curated is not None
                else "not balanced yet."
            ),
        )
    )

    uri, cum = chart_cumulative(run)
    share = (run.manifest or {}).get("tail_share")
    split_txt = (
        f" The dashed line splits tail (count &lt; t, {cum['split']:.1%} of matched entries) "
        f"from head; the tail holds {share:.1%} of all matches before balancing."
        if cum["split"] is not None and share is not None
        else ""
    )
    parts["cumulative"] = (
        '<p class="note">Cumulative share of all matches over entries sorted by pool count, '
        "tail to head (MetaCLIP's figure). Before balancing a few head entries hold most "
        "matches; after, the curve is closer to the diagonal."
        + split_txt
        + "</p>"
        + _img(
            uri,
            "cumulative share of matches over entries sorted by count",
            "x: matched entries (count > 0) in ascending pool-count order; y: share of matches "
            "held by those entries, before (pool) and after (curated) balancing.",
        )
    )

    total = int(hist.sum())
    s = run.stats
    no_match = int(hist[0])
    no_text = int(s.get("rows_no_text", 0))
    unmatched = S.unmatched_examples(sample)
    ex = "".join(f'<li class="cap">{_e(x)}</li>' for x in unmatched)
    parts["matches-per-caption"] = (
        '<div class="grid"><div>'
        + _img(
            chart_histogram(hist),
            "histogram of matches per caption",
            f"{total:,} rows from the side-cars; the last bar counts rows with "
            f"≥ {len(hist) - 1} matches.",
        )
        + "</div><div>"
        + "<table>"
        + f"<tr><td>rows with no match</td><td class='num' data-value='{no_match}'>{no_match:,}"
        f" ({no_match / max(total, 1):.1%})</td></tr>"
        + f"<tr><td>… of which no text (null {s.get('rows_null', 0):,}, empty "
        f"{s.get('rows_empty', 0):,}, invalid UTF-8 {s.get('rows_invalid_utf8', 0):,})</td>"
        f"<td class='num'>{no_text:,}</td></tr>"
        + f"<tr><td>… of which text matching no entry</td><td class='num'>"
        f"{no_match - no_text:,}</td></tr>"
        + f"<tr><td>mean matches per matched row</td><td class='num'>"
        f"{s.get('total_matches', 0) / max(s.get('rows_matched', 0), 1):.2f}</td></tr>"
        + "</table>"
        + f"<h3>captions with no match (from the first {len(sample):,} rows)</h3>"
        + (f'<ul class="examples">{ex}</ul>' if ex else '<p class="note">none found.</p>')
        + "</div></div>"
    )

    parts["top-entries"] = (
        '<p class="note">The 50 entries matched by the most rows; p_e = min(1, t / count) is '
        "each entry's sampling probability.</p>" + _entries_table(S.top_entries(run, 50))
    )

    nm = S.never_matched(run)
    chips = "".join(f"<span title='entry_id {i}'>{_e(e)}</span>" for i, e in nm["examples"])
    parts["never-matched"] = (
        f'<p><b data-value="{nm["count"]}">{nm["count"]:,}</b> of {nm["entries"]:,} entries '
        f"({nm['count'] / max(nm['entries'], 1):.1%}) match no caption of the pool. Examples, "
        f"spread over the id range:</p><div class='chips mono'>{chips}</div>"
    )

    parts["samples"] = _samples_html(run, S.band_samples(run, sample), len(sample))

    shown = list(SECTIONS)
    langs = languages_html(run)  # metaclip2 modes: the language table after the summary
    if langs is not None:
        parts["languages"] = langs
        shown.insert(1, ("languages", "Languages"))
    nav = "".join(f'<a href="#{sid}">{_e(title)}</a>' for sid, title in shown)
    sections = {sid: _section(sid, title, parts[sid]) for sid, title in shown}
    sections["ranked-counts"] = (  # the two curves side by side on a laptop screen
        f'<div class="grid">{sections["ranked-counts"]}{sections.pop("cumulative")}</div>'
    )
    body = "\n".join(sections.values())
    meta = (run.manifest or {}).get("metadata") or s.get("metadata") or {}
    subtitle = (
        f"{run.root} · metadata {meta.get('name', '?')} · "
        f"made by metacurate {__version__} in {time.perf_counter() - started:.2f} s"
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>metacurate report: {_e(run.root.name)}</title><style>{_CSS}</style></head>"
        f"<body><header><h1>Curation report</h1><p>{_e(subtitle)}</p></header>"
        f"<nav>{nav}</nav><main>\n{body}\n</main></body></html>\n"
    )


def write_report(out_dir: str | Path, path: str | Path | None = None) -> Path:
    """Write the report of the run in ``out_dir`` to ``path`` (default ``OUT/report.html``)."""
    run = S.load_run(out_dir)
    target = Path(path) if path is not None else run.root / "report.html"
    page = render_report(run)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target
