"""The HTML report: sections, summary numbers equal to the manifest, offline, bounded size."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

from metacurate.api import curate, match_pool
from metacurate.demo import make_sample
from metacurate.metadata import Metadata
from metacurate.report import load_run, write_report
from metacurate.report import stats as S
from metacurate.report.samples import locate
from tests.report.conftest import SECTION_IDS, Dom, lookup
from tests.report.synth import make_synthetic_run

MB = 1 << 20


def check_page(text: str, manifest: dict | None) -> Dom:
    """Every section once, summary numbers equal to the manifest, nothing fetched."""
    dom = Dom(text)
    for sid in SECTION_IDS:
        assert dom.ids.count(sid) == 1, sid
    assert len(dom.ids) == len(set(dom.ids))
    for tag, attr, value in dom.links:
        assert value.startswith(("data:", "#")), (tag, attr, value[:80])
    assert not {"link", "iframe", "object", "embed"} & dom.tags
    # two scripts, both inline: the explorer's data (JSON) and its code
    assert dom.scripts == [{"type": "application/json", "id": "explore-data"}, {}]
    if manifest is not None:
        for key in (
            "pool_rows",
            "pool_rows_matched",
            "curated_rows",
            "expected_rows",
            "t",
            "tail_share",
            "seed",
            "seconds",
            "metadata.name",
            "metadata.hash",
            "metadata.entries",
            "match.rows_no_text",
            "match.seconds",
        ):
            assert key in dom.keyed, key
        for key, cell in dom.keyed.items():
            want = lookup(manifest, key)
            if isinstance(want, (int, float)) and not isinstance(want, bool):
                assert float(cell["value"]) == want, key
                assert cell["text"].strip() not in ("", "–"), key
            else:
                assert cell["value"] == str(want), key
        rows_text = dom.derived["pool_rows - match.rows_no_text"]
        assert int(rows_text["value"]) == manifest["pool_rows"] - manifest["match"]["rows_no_text"]
        assert dom.keyed["curated_rows"]["text"].replace(",", "") == str(manifest["curated_rows"])
    return dom


def test_report_of_a_real_run(run_dir):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    started = time.perf_counter()
    path = write_report(run_dir)
    seconds = time.perf_counter() - started
    assert path == run_dir / "report.html"
    text = path.read_text(encoding="utf-8")
    check_page(text, manifest)
    assert path.stat().st_size < 2 * MB  # about 1.2 MB: 20,000 entries and 4,000 captions
    print(
        f"report of {manifest['pool_rows']:,} rows: {path.stat().st_size:,} bytes, {seconds:.2f} s"
    )
    # captions are shown as text: sample captions and unmatched examples are there
    assert text.count('class="cap"') >= 5
    assert 'class="kept"' in text  # decisions shown (dropped ones too when sampled)


def test_report_custom_path(run_dir, tmp_path):
    target = tmp_path / "sub" / "r.html"
    assert write_report(run_dir, target) == target
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_histogram_counts_every_row(run_dir):
    run = load_run(run_dir)
    hist = S.matches_per_caption([p for _, p in run.sidecars], cap=4)
    assert hist.sum() == run.stats["rows"]
    assert hist[0] == run.stats["rows"] - run.stats["rows_matched"]
    side = pq.read_table(run.sidecars[0][1], columns=["entry_ids"]).column(0).combine_chunks()
    lengths = np.diff(side.offsets.to_numpy())
    assert hist[4] == np.count_nonzero(lengths >= 4)


def test_curves_are_bounded_and_right():
    counts = np.array([0, 5, 1, 100, 30, 0, 2], np.int64)
    rank, c = S.ranked_counts(counts)
    assert rank.tolist() == [1, 2, 3, 4, 5] and c.tolist() == [100, 30, 5, 2, 1]
    cum = S.cumulative_share(counts, np.array([0, 5, 1, 10, 10, 0, 2]), t=10)
    assert cum["n"] == 5 and cum["split"] == 3 / 5
    assert cum["before"][-1] == pytest.approx(1.0) and cum["after"][-1] == pytest.approx(1.0)
    assert cum["before"][2] == pytest.approx(8 / 138)  # 1 + 2 + 5 of 138: the tail share
    big = np.random.default_rng(0).integers(1, 10**6, 3_000_000)
    rank, c = S.ranked_counts(big, max_points=500)
    assert len(rank) <= 502 and rank[0] == 1 and rank[-1] == len(big)
    assert np.all(np.diff(c) <= 0)
    assert len(S.cumulative_share(big, big, 1000, max_points=500)["x"]) <= 500


def test_captions_are_escaped_and_clipped(tmp_path):
    meta = Metadata.from_list(["dog", "cat", "never"])
    pool = tmp_path / "pool.jsonl"
    rows = [
        {"text": '<img src="http://evil.example/x.png"> dog " & <script>x</script>', "uid": "a"},
        {"text": "cat " + "<b>" * 500, "uid": "b"},
        {"text": "<a href='https://x.example'>nothing here</a>", "uid": "c"},
        {"text": None, "uid": "d"},
        {"text": "dog cat", "uid": "e"},
    ]
    pool.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    metadata_file = tmp_path / "m.txt"
    metadata_file.write_text("\n".join(meta.entries) + "\n")
    out = tmp_path / "out"
    m = curate(str(pool), str(out), metadata=str(metadata_file), t=1.0, workers=1)
    text = write_report(out).read_text(encoding="utf-8")
    dom = check_page(text, m)
    assert "&lt;script&gt;x&lt;/script&gt;" in text
    assert "https://x.example" in text  # shown, escaped, as text of an unmatched caption
    assert "never" in text  # the never-matched entry
    assert len(max(text.split("\n"), key=len)) < 200_000
    assert dom.keyed["match.rows_no_text"]["value"] == "1"


def test_report_of_a_match_only_folder(tmp_path):
    meta = tmp_path / "m.txt"
    meta.write_text("dog\ncat\nred\n")
    small = make_sample(tmp_path / "p.parquet", Metadata.from_list(["dog", "cat", "red"]), 300)
    out = tmp_path / "work"
    match_pool((str(small),), str(out), metadata=str(meta))
    text = write_report(out).read_text(encoding="utf-8")
    check_page(text, None)
    assert "not balanced yet" in text


def test_report_when_the_source_is_gone(tmp_path):
    pool = make_sample(tmp_path / "pool.parquet", Metadata.from_list(["dog", "cat"]), 200)
    moved = tmp_path / "elsewhere.parquet"
    meta = tmp_path / "m.txt"
    meta.write_text("dog\ncat\n")
    out = tmp_path / "out"
    m = curate(str(pool), str(out), metadata=str(meta), t=5.0, workers=1)
    shutil.move(pool, moved)
    text = write_report(out).read_text(encoding="utf-8")
    check_page(text, m)
    assert "not readable now" in text


@pytest.mark.slow
def test_report_size_does_not_grow_with_rows(tmp_path):
    """A 10M-row pool over 500k entries (synthetic side-cars, no matching) stays far under
    5 MB, and about the size of a 100k-row one."""
    big = make_synthetic_run(tmp_path / "big", rows=10_000_000, entries=500_000)
    small = make_synthetic_run(tmp_path / "small", rows=100_000, entries=500_000, files=2)
    started = time.perf_counter()
    big_page = write_report(big)
    seconds = time.perf_counter() - started
    small_page = write_report(small)
    sizes = big_page.stat().st_size, small_page.stat().st_size
    print(f"report sizes: 10M rows {sizes[0]:,} bytes ({seconds:.2f} s), 100k rows {sizes[1]:,}")
    assert sizes[0] < 5 * MB and sizes[1] < 5 * MB
    assert sizes[0] < 1.5 * sizes[1]
    text = big_page.read_text(encoding="utf-8")
    manifest = json.loads((big / "manifest.json").read_text())
    dom = check_page(text, None)
    assert int(dom.keyed["pool_rows"]["value"]) == 10_000_000 == manifest["pool_rows"]
    assert "&lt;script&gt;" in text and "<script>alert" not in text
    assert "\\u003cscript\\u003ealert" in text  # in the explorer's JSON, escaped


@pytest.mark.parametrize(
    ("text", "entry", "shown"),
    [
        ("a dog house, in St. Louis!", "dog house", "dog house"),
        ("photo:dog", "dog", "dog"),
        ("x\tdog!", "dog", "dog"),
        ("x a b c y", "b c", "b c"),
        ("dogs", "dog", None),
        ("(dog)", "dog", None),
    ],
)
def test_locate_marks_the_matched_entry(text, entry, shown):
    span = locate(text, entry)
    assert (None if span is None else text[span[0] : span[1]]) == shown


def test_the_help_states_the_reports_size(run_dir):
    """``report --help`` said "a few hundred kB" while reports of a 10k-row run are ~1.3 MB."""
    from metacurate.report.cli import REPORT_EPILOG

    size = (run_dir / "report.html").stat().st_size
    assert "1.5 MB" in REPORT_EPILOG and size <= 1.5e6
