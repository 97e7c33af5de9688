"""The report's language section (metaclip2 modes): one table row per language and the
cumulative-share curve of the largest languages, read from the manifest and the run's
per-entry counts (split by the layout of ``stats.json``)."""

from __future__ import annotations

import html

from metacurate.report import stats as S
from metacurate.report.charts import figure

LARGEST = 6


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def language_rows(run: S.Run) -> list[dict]:
    """The manifest's language table, largest pool share first (``other`` last)."""
    rows = list((run.manifest or {}).get("languages") or [])
    return sorted(rows, key=lambda r: (r["lang"] == "other", -r["pool_rows"], r["lang"]))


def language_curves(run: S.Run, langs: list[str]) -> dict[str, dict]:
    """:func:`stats.cumulative_share` of each language's own counts at its own ``t``."""
    from metacurate.metadata.layout import Layout

    layout = Layout.from_dict(run.stats["worldwide"])
    before = layout.split(run.counts)
    after = layout.split(run.counts_curated) if run.counts_curated is not None else {}
    t_lang = (run.manifest or {}).get("t_lang", {})
    return {
        lang: S.cumulative_share(before[lang], after.get(lang), t_lang.get(lang))
        for lang in langs
        if lang in before
    }


def chart_languages(curves: dict[str, dict]) -> str:
    """Small multiples: before/after cumulative share per language, one inline SVG each."""
    from metacurate.report import svg

    charts = []
    for lang, cum in curves.items():
        chart = svg.Chart(
            svg.Axis(0.0, 1.0, f"{lang}: matched entries by pool count ({cum['n']:,})"),
            svg.Axis(0.0, 1.0, "cumulative share of matches"),
            f"{lang}: cumulative share of matches, before and after balancing",
        )
        if cum["n"]:
            chart.line(cum["x"], cum["before"], "#2f6fd6", "pool")
            if cum["after"] is not None:
                chart.line(cum["x"], cum["after"], "#e07b28", "curated")
            if cum["split"] is not None:
                chart.vline(cum["split"], "#444", "count = t")
        charts.append(f"<div>{chart.svg('left')}</div>")
    return f'<div class="grid">{"".join(charts)}</div>'


def languages_html(run: S.Run) -> str | None:
    """The section body, or ``None`` for a run that is not worldwide."""
    rows = language_rows(run)
    if not rows or "worldwide" not in run.stats:
        return None
    head = (
        "<tr><th>lang</th><th>entries</th><th>pool rows</th><th>matched</th><th>t</th>"
        "<th>tail share</th><th>curated</th><th>expected</th></tr>"
    )
    body = []
    empty = sum(1 for r in rows if not r["pool_rows"])
    for r in (r for r in rows if r["pool_rows"]):
        t = "–" if r["t"] is None else f"{r['t']:,.6g}"
        share = "–" if r["tail_share"] is None else f"{r['tail_share']:.4f}"
        body.append(
            f"<tr><td>{_e(r['lang'])}</td><td class='num'>{r['entries']:,}</td>"
            f"<td class='num'>{r['pool_rows']:,}</td><td class='num'>{r['pool_rows_matched']:,}"
            f"</td><td class='num'>{t}</td><td class='num'>{share}</td>"
            f"<td class='num'>{r['curated_rows']:,}</td>"
            f"<td class='num'>{r['expected_rows']:,.1f}</td></tr>"
        )
    largest = [r["lang"] for r in rows if r["lang"] != "other" and r["pool_rows_matched"]]
    curves = language_curves(run, largest[:LARGEST])
    src = (run.manifest or {}).get("language_source") or "?"
    chart = (
        figure(
            chart_languages(curves),
            "cumulative share of matches per language",
            "per language: matched entries in ascending pool-count order (x) and the share of "
            "that language's matches they hold (y), before and after balancing; dashed: count "
            "= t of that language.",
        )
        if curves
        else ""
    )
    reference = ((run.manifest or {}).get("worldwide_t") or {}).get("reference") or {}
    why = reference.get("why") or (
        "English uses t = t_en and every other language the t whose tail share is closest "
        "to English's"
    )
    note = (
        f"<p class='note'>Each row was matched against its own language's list (languages "
        f"from {_e(src)}). <b>Reference</b>: {_e(why)}. Rows of 'other' (unknown language, "
        "LID score below the minimum, or no list) are counted, never kept unless the metadata "
        "has other.json.</p>"
    )
    tail = (
        f"<p class='note'>{empty:,} more languages of the metadata have no rows in this pool.</p>"
        if empty
        else ""
    )
    table = f"<table>{head}{''.join(body)}</table>"
    return note + table + tail + lid_html(run.stats.get("lid_scores")) + chart


def _quantile_bin(hist: list[int], q: float) -> str:
    """The score bin holding quantile ``q`` of a histogram over [0, 1]."""
    total = sum(hist)
    if not total:
        return "–"
    acc, width = 0, 1.0 / len(hist)
    for k, h in enumerate(hist):
        acc += h
        if acc >= q * total:
            return f"{k * width:.2f}–{(k + 1) * width:.2f}"
    return "–"  # pragma: no cover


def lid_html(doc: dict | None) -> str:
    """The LID score distribution per label (language identification runs only)."""
    if not doc:
        return ""
    head = (
        "<tr><th>LID label</th><th>rows</th><th>below minimum</th><th>10th pct score</th>"
        "<th>median score</th><th>90th pct score</th></tr>"
    )
    body = "".join(
        f"<tr><td>{_e(r['label'] or '(empty text)')}</td><td class='num'>{r['rows']:,}</td>"
        f"<td class='num'>{r['rows_below_min']:,}</td>"
        + "".join(f"<td class='num'>{_quantile_bin(r['hist'], q)}</td>" for q in (0.1, 0.5, 0.9))
        + "</tr>"
        for r in doc["labels"]
    )
    note = (
        f"<p class='note'>Language identification scores per label (bins of "
        f"{1 / doc['bins']:.2f}); rows scoring below the minimum, {doc['min_score']:g} "
        "(--lid-min-score), went to 'other'.</p>"
    )
    return f"<h3 id='lid-scores'>LID scores</h3>{note}<table>{head}{body}</table>"
