"""The curation report: one self-contained HTML file (inline CSS and JS, charts as SVG).

Nothing in the page points outside it, so it opens offline and can be mailed or archived as
is. Curves are downsampled (``stats.MAX_POINTS``), the explorer embeds a capped number of
entries (``explore.MAX_ENTRIES``) and captions from a bounded sample (``samples``), so the file
size does not grow with the pool. The static parts read without JavaScript; the explorer
(search, sort, captions per entry) is ``assets/explore.js``, inlined.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from metacurate._version import __version__
from metacurate.engine.submit import Submit, run_later
from metacurate.files import write_text
from metacurate.metadata.default import BUILTIN_NOTE, is_builtin
from metacurate.report import stats as S
from metacurate.report.charts import chart_cumulative, chart_histogram, chart_ranked, figure
from metacurate.report.compare import extra_sections
from metacurate.report.explore import asset, explorer_input, explorer_section
from metacurate.report.languages import languages_html
from metacurate.report.samples import band_samples, plan_sample, sample_rows, unmatched_examples
from metacurate.storage import AnyPath, location

SECTIONS = (
    ("summary", "Summary"),
    ("explore", "Explore entries"),
    ("ranked-counts", "Entry counts"),
    ("cumulative", "Cumulative share"),
    ("matches-per-caption", "Matches per caption"),
    ("compared", "Compared with MetaCLIP"),
    ("top-entries", "Largest entries"),
    ("never-matched", "Never matched"),
    ("samples", "Sample captions"),
    ("coverage", "Class coverage"),
)


def _e(value: object) -> str:
    """HTML-escape any value (captions and entries are untrusted text)."""
    return html.escape("" if value is None else str(value), quote=True)


def _fmt(value: object, fmt: str) -> str:
    if value is None:
        return "–"
    if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, fmt)
    return str(value)


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
        shown = r["shown"] if r.get("shown") is not None else _fmt(r["value"], r["fmt"])
        cells.append(f'<tr><td>{_e(r["label"])}</td><td class="{cls}"{attrs}>{_e(shown)}</td></tr>')
    half = (len(cells) + 1) // 2
    body = (
        f'<div class="kv"><table>{"".join(cells[:half])}</table>'
        f"<table>{''.join(cells[half:])}</table></div>"
    )
    m = run.manifest or {}
    meta = m.get("metadata") or run.stats.get("metadata") or {}
    if is_builtin(str(meta.get("hash", ""))):
        body = f'<p class="banner" id="builtin-note">{_e(BUILTIN_NOTE)}</p>' + body
    if m.get("expected_note"):
        body += f'<p class="note">{_e(m["expected_note"])}</p>'
    if m.get("command"):
        body += f'<p class="note">command: <code>{_e(m["command"])}</code></p>'
    for note in dict.fromkeys(run.notes):
        body += f'<p class="note">note: {_e(note)}</p>'
    return body


def _entries_table(items: list[dict]) -> str:
    head = (
        "<thead><tr><th class='num'>#</th><th class='num'>entry_id</th><th>entry</th>"
        "<th class='num'>count</th><th class='num'>p_e</th>"
        "<th class='num'>count after balancing</th></tr></thead>"
    )
    body = []
    for i, it in enumerate(items, 1):
        p = "" if it["p"] is None else f" data-sort='{it['p']!r}'"
        body.append(
            f"<tr data-open-entry='{it['entry_id']}' title='open in the explorer'>"
            f"<td class='num'>{i}</td><td class='num'>{it['entry_id']}</td>"
            f"<td class='mono'>{_e(it['entry'])}</td>"
            f"<td class='num'>{it['count']:,}</td>"
            f"<td class='num'{p}>{_e(_fmt(it['p'], '.4g'))}</td>"
            f"<td class='num'>{_e(_fmt(it['count_curated'], ','))}</td></tr>"
        )
    return f"<table class='sortable'>{head}<tbody>{''.join(body)}</tbody></table>"


def _decision(c: dict) -> str:
    if c["kept"] is None:
        return ""
    cls, word = ("kept", "kept") if c["kept"] else ("dropped", "dropped")
    out = f'<span class="{cls}">{word}</span> <span class="mono">p={c["keep_prob"]:.3f}</span>'
    if c.get("u") is not None:
        rel = "&lt;" if c["u"] < c["p_e"] else "≥"
        via = " (kept through another entry)" if c["kept"] and c["u"] >= c["p_e"] else ""
        out += f' <span class="mono">u={c["u"]:.3g} {rel} p_e={c["p_e"]:.3g}</span>{via}'
    return out


def _marked(text: str, span: tuple[int, int] | None) -> str:
    """``text`` escaped, with the matched entry in ``<mark>``."""
    if span is None:
        return _e(text)
    a, b = span
    return f"{_e(text[:a])}<mark>{_e(text[a:b])}</mark>{_e(text[b:])}"


def _samples_html(run: S.Run, bands: list[dict], sample_note: str) -> str:
    if not bands:
        return '<p class="note">no captions available (sources not readable or no matches).</p>'
    pivot = f"t = {run.t:.6g}" if run.t is not None else "the median count"
    out = [
        f'<p class="note">From a sample of {_e(sample_note)}. head: the largest entries seen '
        f"there; middle: counts closest to {_e(pivot)}; tail: the smallest counts (words "
        "before numbers in both); no caption is shown twice. Each caption shows its row's keep "
        "decision under the run's seed and its keep_prob 1 − Π(1 − p_e); a head entry's kept and "
        "dropped captions show the entry's draw u(seed, uid, e): the row is kept through the "
        "entry iff u &lt; p_e.</p>"
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


def render_report(run: S.Run, submit: Submit = run_later) -> str:
    """The report page for a loaded run, as an HTML string. ``submit(fn, arg)`` runs the
    explorer section, the largest part, elsewhere while this process makes the others
    (default: here, when its result is needed); see ``Engine.submit``."""
    started = time.perf_counter()
    hist = S.matches_histogram(run)
    plan = plan_sample(run)
    sample = sample_rows(run, plan)
    sample_note = plan.describe(len(sample))
    explore = submit(explorer_section, explorer_input(run, sample, sample_note))
    parts = {
        "summary": _summary_html(run),
        "ranked-counts": _ranked_html(run),
        "cumulative": _cumulative_html(run),
        "matches-per-caption": _matches_per_caption_html(run, hist, sample),
        "top-entries": _top_entries_html(run),
        "never-matched": _never_matched_html(run),
        "samples": _samples_html(run, band_samples(run, sample), sample_note),
        **extra_sections(run),
    }
    parts["explore"] = explore()
    return _page(run, parts, started)


def _ranked_html(run: S.Run) -> str:
    """Section "Entry counts": ranked counts before and after balancing."""
    t_txt = f" The dashed line is t = {run.t:.6g}." if run.t is not None else ""
    return (
        '<p class="note">Rows matching each entry, entries ranked by count (log-log). Balancing '
        "samples each head entry (count &ge; t) with p = t / count and keeps the tail "
        "(count &lt; t) whole; it keeps rows, not matches, so a head entry's count after "
        "balancing also includes rows kept for another of their entries and can stay above t."
        + _e(t_txt)
        + "</p>"
        + figure(
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


def _cumulative_html(run: S.Run) -> str:
    """Section "Cumulative share": MetaCLIP's cumulative curve, with the tail/head split."""
    uri, cum = chart_cumulative(run)
    share = (run.manifest or {}).get("tail_share")
    split_txt = (
        f" The dashed line splits tail (count &lt; t, {cum['split']:.1%} of matched entries) "
        f"from head; the tail holds {share:.1%} of all matches before balancing."
        if cum["split"] is not None and share is not None
        else ""
    )
    return (
        '<p class="note">Cumulative share of all matches over entries sorted by pool count, '
        "tail to head (MetaCLIP's figure). Before balancing a few head entries hold most "
        "matches; after, the curve is closer to the diagonal."
        + split_txt
        + "</p>"
        + figure(
            uri,
            "cumulative share of matches over entries sorted by count",
            "x: matched entries (count > 0) in ascending pool-count order; y: share of matches "
            "held by those entries, before (pool) and after (curated) balancing.",
        )
    )


def _matches_per_caption_html(run: S.Run, hist: np.ndarray, sample: pa.Table) -> str:
    """Section "Matches per caption": the histogram, rows without a match, examples."""
    total = int(hist.sum())
    s = run.stats
    no_match = int(hist[0])
    no_text = int(s.get("rows_no_text", 0))
    unmatched = unmatched_examples(sample)
    ex = "".join(f'<li class="cap">{_e(x)}</li>' for x in unmatched)
    return (
        '<div class="grid"><div>'
        + figure(
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
        + f"<h3>captions with no match (from the sample of {len(sample):,} rows)</h3>"
        + (f'<ul class="examples">{ex}</ul>' if ex else '<p class="note">none found.</p>')
        + "</div></div>"
    )


def _top_entries_html(run: S.Run) -> str:
    """Section "Largest entries": the 50 entries matched by the most rows."""
    return (
        '<p class="note">The 50 entries matched by the most rows; p_e = min(1, t / count) is '
        "each entry's sampling probability. Click a column to sort, a row to open the entry "
        "in the explorer.</p>" + _entries_table(S.top_entries(run, 50))
    )


def _never_matched_html(run: S.Run) -> str:
    """Section "Never matched": how many entries match no caption, with examples."""
    nm = S.never_matched(run)
    chips = "".join(f"<span title='entry_id {i}'>{_e(e)}</span>" for i, e in nm["examples"])
    return (
        f'<p><b data-value="{nm["count"]}">{nm["count"]:,}</b> of {nm["entries"]:,} entries '
        f"({nm['count'] / max(nm['entries'], 1):.1%}) match no caption of the pool. Examples, "
        f"spread over the id range:</p><div class='chips mono'>{chips}</div>"
    )


def _page(run: S.Run, parts: dict[str, str], started: float) -> str:
    """The page around the section bodies: navigation, sections in order, header, assets."""
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
    meta = (run.manifest or {}).get("metadata") or run.stats.get("metadata") or {}
    subtitle = (
        f"{run.root} · metadata {meta.get('name', '?')} · "
        f"made by metacurate {__version__} in {time.perf_counter() - started:.2f} s"
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>metacurate report: {_e(run.root.name)}</title>"
        f"<style>{asset('report.css')}{asset('explore.css')}</style></head>"
        f"<body><header><h1>Curation report</h1><p>{_e(subtitle)}</p></header>"
        f"<nav>{nav}</nav><main>\n{body}\n</main>"
        f"<script>{_inline_js(asset('explore.js'))}</script></body></html>\n"
    )


def _inline_js(code: str) -> str:
    """``code`` safe inside ``<script>``: it must not contain a closing tag."""
    if "</script" in code.lower() or "<!--" in code:
        raise ValueError("the report's script contains </script or <!--")  # a bug, not data
    return code


def write_report(
    out_dir: str | AnyPath,
    path: str | Path | None = None,
    s3_endpoint: str | None = None,
    submit: Submit = run_later,
) -> AnyPath:
    """Write the report of the run in ``out_dir`` to ``path`` (default ``OUT/report.html``;
    ``s3_endpoint``: of an S3-compatible store holding the run; ``submit``: see
    :func:`render_report`)."""
    run = S.load_run(out_dir, s3_endpoint)
    target = location(path, s3_endpoint) if path is not None else run.root / "report.html"
    write_text(target, render_report(run, submit))
    return target
