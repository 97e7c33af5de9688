"""'Compared with MetaCLIP' in ``stats`` and the report, checked on the shared samples
(LAION + CC3M, or the shipped LAION sample alone) against a computation from the side-cars."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from metacurate.cli import main
from metacurate.report.html import write_report
from tests.report.conftest import Dom


def _independent(out) -> dict:
    """The figures from the side-cars' entry_ids alone (not the count files or manifest)."""
    ids, rows = [], 0
    for f in sorted((out / "matches").glob("*.parquet")):
        if f.name.endswith(".counts.parquet"):
            continue
        col = pq.read_table(f, columns=["entry_ids"]).column(0).to_pylist()
        rows += len(col)
        ids += [e for x in col for e in (x or [])]
    counts = np.bincount(np.asarray(ids, np.int64))
    counts = counts[counts > 0]
    t = json.loads((out / "manifest.json").read_text())["t"]
    total = counts.sum()
    # the smallest t >= 1 whose tail share is closest to 6%: try every t at which it changes
    best = None
    for cand in sorted({1.0} | {float(c + 1) for c in counts}):
        share = counts[counts < cand].sum() / total
        if best is None or abs(share - 0.06) < abs(best[1] - 0.06) - 1e-15:
            best = (cand, share)
    return {
        "matches_per_caption": total / rows,
        "tail_share": counts[counts < t].sum() / total,
        "head_entries": int((counts >= t).sum()),
        "head_share": counts[counts >= t].sum() / total,
        "t6": best[0],
        "next_t": float(counts[counts >= best[0]].min() + 1),
        "share_next": counts[counts <= counts[counts >= best[0]].min()].sum() / total,
    }


def test_stats_compares_with_metaclip(real_run, capsys):
    out, texts = real_run
    assert main(["stats", str(out), "--json"]) == 0
    cmp = json.loads(capsys.readouterr().out)["compared_with_metaclip"]
    ref = _independent(out)
    assert cmp["pool_rows"] == len(texts)
    assert cmp["matches_per_caption"] == pytest.approx(ref["matches_per_caption"])
    assert cmp["tail_share"] == pytest.approx(ref["tail_share"])
    assert cmp["head_entries"] == ref["head_entries"]
    assert cmp["head_share"] == pytest.approx(ref["head_share"])
    assert cmp["t_for_metaclip_tail_share"] == ref["t6"]
    assert cmp["next_t"] == ref["next_t"]
    assert cmp["tail_share_at_next_t"] == pytest.approx(ref["share_next"])
    m = cmp["metaclip"]
    assert m["matches_per_caption"] == pytest.approx(3.54, abs=0.01)
    assert (m["tail_share"], m["t"], m["t_2_5b"]) == (0.06, 20_000, 170_000)
    assert m["head_share"] == pytest.approx(5.35 / 5.67)
    assert main(["stats", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{ref['matches_per_caption']:.2f}" in printed and "MetaCLIP: ~3.5" in printed


def test_report_has_the_comparison_and_coverage(real_run, tmp_path, capsys):
    out, _ = real_run
    (out / "coverage.json").unlink(missing_ok=True)  # other tests write it
    page = write_report(out, tmp_path / "r.html").read_text()
    assert "Compared with MetaCLIP" in page and "Not computed for this run" in page
    assert main(["coverage", str(out), "--json"]) == 0
    cov = json.loads(capsys.readouterr().out)["covered"]
    page = write_report(out, tmp_path / "r.html").read_text()
    dom = Dom(page)
    assert "compared" in dom.ids and "coverage" in dom.ids
    assert f"data-cov='curated'>{cov['curated']['at_least_1']:,}<" in page.replace('"', "'")
    (out / "coverage.json").unlink()
