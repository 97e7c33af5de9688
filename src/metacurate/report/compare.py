"""A run beside MetaCLIP's published figures, and the report's coverage section.

MetaCLIP ("Demystifying CLIP Data", ICLR 2024) matched 1.6B pairs against 500k entries:
5.67B matches (~3.5 per caption); at t = 20,000 the ~16k head entries held 5.35B of them and
the tail (count < t) ~6%, which made the 400M curated set; t = 170,000 made 2.5B (the scaled
set of the paper and of Meta CLIP 2, 2025). :func:`compare` computes the same figures from a
run's counts, and the ``t`` that gives MetaCLIP's 6% tail share on this pool.
"""

from __future__ import annotations

import html

import numpy as np

from metacurate.balance.choose_t import choose

#: MetaCLIP's published figures, and where they come from.
METACLIP = {
    "matches": 5.67e9,
    "pairs": 1.6e9,
    "matches_per_caption": 5.67e9 / 1.6e9,
    "t": 20_000,
    "tail_share": 0.06,
    "head_entries": 16_000,
    "head_matches": 5.35e9,
    "head_share": 5.35e9 / 5.67e9,
    "t_2_5b": 170_000,
    "source": "Demystifying CLIP Data (Xu et al., ICLR 2024) and Meta CLIP 2 (Chuang et al., "
    "2025): 1.6B pairs, 500k entries; t = 20,000 gave 400M pairs, t = 170,000 gave 2.5B",
}


def compare(counts: np.ndarray, pool_rows: int, t: float | None) -> dict:
    """This run's figures beside MetaCLIP's: matches per caption (matches / pool rows), and,
    at the run's ``t``, the tail share, the head entries (count >= t) and their share of the
    matches; plus the ``t`` whose tail share is closest to MetaCLIP's 6% here."""
    c = np.asarray(counts, np.int64)
    total = int(c.sum())
    out: dict = {
        "pool_rows": int(pool_rows),
        "matches": total,
        "matches_per_caption": total / pool_rows if pool_rows else 0.0,
        "t": t,
        "t_for_metaclip_tail_share": float(choose(c, tail_share=METACLIP["tail_share"]).t)
        if total
        else None,
        "metaclip": METACLIP,
    }
    if t is not None:
        head = c >= t
        out["tail_share"] = int(c[~head].sum()) / total if total else 0.0
        out["head_entries"] = int(head.sum())
        out["head_share"] = int(c[head].sum()) / total if total else 0.0
    t6 = out["t_for_metaclip_tail_share"]
    if t6 is not None:
        out["tail_share_at_that_t"] = int(c[c < t6].sum()) / total
        above = c[c >= t6]  # the next step of the tail share: t = the next count + 1
        if len(above) and above.min() > 0:
            out["next_t"] = float(above.min() + 1)
            out["tail_share_at_next_t"] = int(c[c < out["next_t"]].sum()) / total
    return out


def compare_rows(cmp: dict) -> list[tuple[str, str, str]]:
    """``(figure, this run, MetaCLIP)`` rows."""
    m = cmp["metaclip"]
    rows = [
        (
            "matches per caption",
            f"{cmp['matches_per_caption']:.2f} ({cmp['matches']:,} on {cmp['pool_rows']:,} rows)",
            f"~{m['matches_per_caption']:.1f} (5.67B on 1.6B pairs)",
        )
    ]
    if cmp.get("tail_share") is not None:
        rows += [
            (
                "tail share (count < t)",
                f"{cmp['tail_share']:.1%} at t = {cmp['t']:.6g}",
                f"~{m['tail_share']:.0%} at t = {m['t']:,} (400M set)",
            ),
            (
                "head entries (count >= t)",
                f"{cmp['head_entries']:,} holding {cmp['head_share']:.1%} of matches",
                f"~16k holding 5.35B = {m['head_share']:.1%} of matches",
            ),
        ]
    if cmp["t_for_metaclip_tail_share"] is not None:
        here = (
            f"{cmp['t_for_metaclip_tail_share']:.6g} (tail share {cmp['tail_share_at_that_t']:.1%}"
        )
        if abs(cmp["tail_share_at_that_t"] - 0.06) > 0.01 and cmp.get("next_t") is not None:
            here += f"; t = {cmp['next_t']:.6g} gives {cmp['tail_share_at_next_t']:.1%}"
        rows.append(
            (
                "t for a 6% tail share",
                here + ")",
                f"{m['t']:,} for 400M; {m['t_2_5b']:,} for 2.5B",
            )
        )
    return rows


def compare_lines(cmp: dict) -> list[str]:
    """``metacurate stats``: the comparison as aligned lines."""
    lines = [f"compared with MetaCLIP ({cmp['metaclip']['source']}):"]
    for name, here, theirs in compare_rows(cmp):
        lines.append(f"  {name:<27}{here:<46}MetaCLIP: {theirs}")
    return lines


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def compare_html(cmp: dict) -> str:
    """The report's "Compared with MetaCLIP" section body."""
    rows = "".join(
        f"<tr><td>{_e(a)}</td><td class='num'>{_e(b)}</td><td class='num'>{_e(c)}</td></tr>"
        for a, b, c in compare_rows(cmp)
    )
    return (
        "<p class='note'>This run's figures beside those MetaCLIP published. A small pool "
        "has fewer matches per entry, so the same tail share needs a far smaller t: compare "
        "tail shares, not t.</p>"
        f"<table><thead><tr><th>figure</th><th>this run</th><th>MetaCLIP</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        f"<p class='note'>Source: {_e(cmp['metaclip']['source'])}.</p>"
    )


def coverage_html(result: dict | None, curated_rows: int | None, shown: int = 40) -> str:
    """The report's coverage section: from ``OUT/coverage.json`` when there is one (and made
    from this run's curated set: ``curated_rows``)."""
    if (
        result is not None
        and curated_rows is not None
        and result["rows"]["curated"] != curated_rows
    ):
        return (
            f"<p class='note'>OUT/coverage.json counts {result['rows']['curated']:,} curated "
            f"rows, this run {curated_rows:,}: it is from an earlier balance; run "
            "<code>metacurate coverage OUT</code> again.</p>"
        )
    if result is None:
        return (
            "<p class='note'>Not computed for this run: <code>metacurate coverage OUT</code> "
            "counts ImageNet-1k's 1,000 classes (or your own list) in the pool, the curated "
            "set and random subsets of its size, and adds this section.</p>"
        )
    c, k, r = result["covered"], result["k"], result["rows"]

    def pm(s: dict) -> str:
        return f"{s['mean']:.1f} ± {s['sd']:.1f}"

    head = (
        f"<p>{result['classes']['count']:,} classes of <b>{_e(result['classes']['list'])}</b> "
        f"({_e(result['classes']['source'])}); pool {r['pool']:,} rows, curated "
        f"{r['curated']:,}, random: {result['draws']} uniform subsets of {r['curated']:,} rows "
        f"(seed {result['seed']}). Rule: {_e(result['rule'])}.</p>"
        "<table><thead><tr><th>classes with</th><th>≥ 1 caption</th>"
        f"<th>≥ {k} captions</th></tr></thead><tbody>"
        f"<tr><td>pool</td><td class='num' data-cov='pool'>{c['pool']['at_least_1']:,}</td>"
        f"<td class='num'>{c['pool']['at_least_k']:,}</td></tr>"
        f"<tr><td>curated</td><td class='num' data-cov='curated'>"
        f"{c['curated']['at_least_1']:,}</td><td class='num'>{c['curated']['at_least_k']:,}"
        "</td></tr><tr><td>random (mean ± sd)</td>"
        f"<td class='num'>{pm(c['random']['at_least_1'])}</td>"
        f"<td class='num'>{pm(c['random']['at_least_k'])}</td></tr></tbody></table>"
    )
    per = sorted(result["per_class"], key=lambda x: (-x["pool"], x["class"]))
    body = "".join(
        f"<tr><td>{_e(x['class'])}</td><td class='num'>{x['pool']:,}</td>"
        f"<td class='num'>{x['curated']:,}</td><td class='num'>{x['random_mean']:.1f}</td></tr>"
        for x in per[:shown]
        if x["pool"]
    )
    rare = [x for x in per if 0 < x["pool"] < k]
    kept_rare = sum(1 for x in rare if x["curated"] > 0)
    rand_rare = sum(x.get("random_covered", 0.0) for x in rare)
    return (
        head + f"<p class='note'>Rare classes (1 to {k - 1} captions in the pool): {len(rare):,}; "
        f"the curated set keeps at least one caption of {kept_rare:,}, a random subset "
        f"{rand_rare:,.1f} on average.</p>"
        + f"<h3>The {min(shown, len(per)):,} classes with the most captions</h3>"
        + "<table class='sortable'><thead><tr><th>class</th><th>pool</th><th>curated</th>"
        + f"<th>random (mean)</th></tr></thead><tbody>{body}</tbody></table>"
        + "<p class='note'>Every class, with its synonyms: OUT/coverage.json.</p>"
    )


def run_comparison(run) -> dict:
    """:func:`compare` for a loaded run (``report.stats.Run``)."""
    m = run.manifest or {}
    rows = m.get("pool_rows", run.stats.get("rows", 0))
    return compare(run.counts, int(rows or 0), run.t)


def extra_sections(run) -> dict[str, str]:
    """The bodies of the report's "compared" and "coverage" sections."""
    from metacurate.files import read_json

    path = run.root / "coverage.json"
    result = read_json(path) if path.exists() else None
    curated = (run.manifest or {}).get("curated_rows")
    return {
        "compared": compare_html(run_comparison(run)),
        "coverage": coverage_html(result, curated),
    }
