"""The report's language section (metaclip2 modes): one table row per language and the
cumulative-share curve of the largest languages, read from the manifest and the run's
per-entry counts (split by the layout of ``stats.json``)."""

from __future__ import annotations

import html

from metacurate.report import stats as S

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
    for r in rows:
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
    from metacurate.report.html import _img

    src = (run.manifest or {}).get("language_source") or "?"
    chart = (
        _img(
            chart_languages(curves),
            "cumulative share of matches per language",
            "per language: matched entries in ascending pool-count order (x) and the share of "
            "that language's matches they hold (y), before and after balancing; dashed: count "
            "= t of that language.",
        )
        if curves
        else ""
    )
    note = (
        f"<p class='note'>Each row was matched against its own language's list (languages "
        f"from {_e(src)}); English uses t = t_en and every other language the t whose tail "
        "share is closest to English's. Rows of 'other' (unknown language, or no list) are "
        f"counted, never kept unless the metadata has other.json.</p>"
    )
    return note + f"<table>{head}{''.join(body)}</table>" + chart
