"""``metacurate plan WORKDIR`` for a metaclip2 (per-language) work folder: for each reference
asked (English's ``t``, or a tail share, with ``--t-lang`` overrides) one table of every
language with rows: its ``t`` (chosen by :func:`metacurate.balance.choose_t.choose`, as
``balance`` would), its tail share and its expected curated rows. Writes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from metacurate import balance
from metacurate.balance.choose_t import MIN_REFERENCE_ROWS, choose

#: The tail shares shown when neither ``--t`` nor ``--tail-share`` is given.
DEFAULT_SHARES = (0.1, 0.2, 0.3)


def _expected_by_lang(
    paths: Sequence[Path], langs: Sequence[str], probs: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """For each ``p`` of ``probs``: expected curated rows per language of ``langs`` (one pass
    over the side-cars' ``entry_ids`` and ``lang``)."""
    code = {lang: k for k, lang in enumerate(langs)}
    sums = [np.zeros(len(langs)) for _ in probs]
    for path in paths:
        with pq.ParquetFile(path) as pf:
            for batch in pf.iter_batches(batch_size=1 << 20, columns=["entry_ids", "lang"]):
                enc = pc.dictionary_encode(batch.column(1))
                names = enc.dictionary.to_pylist()
                remap = np.array([code.get(x, -1) for x in names] or [-1], np.int64)
                codes = remap[enc.indices.to_numpy(zero_copy_only=False)]
                ok = codes >= 0
                for k, p in enumerate(probs):
                    kp = balance.keep_prob(batch.column(0), p)
                    sums[k] += np.bincount(codes[ok], weights=kp[ok], minlength=len(langs))
    return sums


def plan_worldwide(
    stats: dict,
    counts: np.ndarray,
    paths: Sequence[Path],
    ts: Sequence[float] = (),
    tail_shares: Sequence[float] = (),
    t_lang: Mapping[str, float] | None = None,
    t_rule: str = "metacurate",
) -> dict:
    """One table per reference (``ts`` are English's t), see module doc."""
    refs = [("t", float(t)) for t in ts] + [("tail_share", float(p)) for p in tail_shares]
    if not refs:
        refs = [("tail_share", p) for p in DEFAULT_SHARES]
    layout, lang_rows = stats["worldwide"], stats.get("languages") or {}
    choices = [
        choose(
            counts,
            **{kind: value},
            layout=layout,
            lang_rows=lang_rows,
            t_lang=t_lang,
            t_rule=t_rule,
        )
        for kind, value in refs
    ]
    langs = [x["lang"] for x in layout["languages"]]
    sizes = _expected_by_lang(paths, langs, [c.p for c in choices])
    tables = []
    for (kind, value), choice, expected in zip(refs, choices, sizes, strict=True):
        wt = choice.how["worldwide_t"]
        rows = []
        for k, lang in enumerate(langs):
            s = lang_rows.get(lang) or {}
            if not s.get("rows"):
                continue
            rows.append(
                {
                    "lang": lang,
                    "pool_rows": int(s.get("rows", 0)),
                    "rows_matched": int(s.get("rows_matched", 0)),
                    "t": wt["t"][lang],
                    "tail_share": wt["tail_share"][lang],
                    "expected_rows": float(expected[k]),
                }
            )
        rows.sort(key=lambda r: (-r["pool_rows"], r["lang"]))
        tables.append(
            {
                "reference": {kind: value},
                "why": wt["reference"]["why"],
                "expected_rows": float(expected.sum()),
                "languages": rows,
            }
        )
    other = (lang_rows.get("other") or {}).get("rows", 0)
    return {
        "languages_empty": sum(1 for x in langs if not (lang_rows.get(x) or {}).get("rows")),
        "rows_other": int(other),
        "english_rows_matched": int((lang_rows.get("en") or {}).get("rows_matched", 0)),
        "min_reference_rows": MIN_REFERENCE_ROWS,
        "tables": tables,
    }


def format_worldwide(doc: dict) -> list[str]:
    """The per-language tables as text lines."""
    ww = doc["worldwide"]
    lines = []
    for table in ww["tables"]:
        lines += ["", f"reference: {table['why']}"]
        cells = [("lang", "pool rows", "matched", "t", "tail share", "expected rows")]
        for r in table["languages"]:
            cells.append(
                (
                    r["lang"],
                    f"{r['pool_rows']:,}",
                    f"{r['rows_matched']:,}",
                    f"{r['t']:,.6g}",
                    f"{r['tail_share']:.4f}",
                    f"{r['expected_rows']:,.1f}",
                )
            )
        cells.append(("all", "", "", "", "", f"{table['expected_rows']:,.1f}"))
        widths = [max(len(row[i]) for row in cells) for i in range(6)]
        for row in cells:
            lines.append(
                "  ".join(
                    c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                )
            )
    lines += [
        "",
        f"{ww['languages_empty']:,} more languages of the metadata have no rows; "
        f"{ww['rows_other']:,} rows in 'other' (never kept without other.json). English: "
        f"{ww['english_rows_matched']:,} matched rows ({ww['min_reference_rows']:,} needed "
        "for --t, English's t).",
        f"next: metacurate balance {doc['workdir']} --tail-share P (or --t T_EN) --out OUT",
    ]
    return lines
