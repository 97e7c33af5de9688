"""The report's explorer data, its sample and the fixes of issue 15 (tail examples, t wording,
the tail label inside the chart, the built-in metadata note)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metacurate.api import curate
from metacurate.metadata import BUILTIN_NOTE
from metacurate.report import load_run, write_report
from metacurate.report.charts import cumulative_figure
from metacurate.report.explore import explorer_data, pick_examples, script_json
from metacurate.report.samples import band_samples, plan_sample, sample_rows
from metacurate.report.stats import t_origin
from tests.reference import reference_match


def _curate(tmp_path: Path, entries: list[str], texts: list[str], t: float, **kw) -> Path:
    (tmp_path / "m.txt").write_text("\n".join(entries) + "\n")
    pool = tmp_path / "pool.parquet"
    pq.write_table(pa.table({"text": texts, "url": [f"u{i}" for i in range(len(texts))]}), pool)
    out = tmp_path / "out"
    curate(str(pool), str(out), metadata=str(tmp_path / "m.txt"), t=t, workers=1, **kw)
    return out


def test_tail_examples_are_words_first_and_never_repeat_a_caption(tmp_path):
    """Issue 15: the tail showed the digits 42 and 43 with the same caption."""
    entries = ["42", "43", "cat", "dog", "the", "red", "big", "car", "bus", "van"]
    texts = ["photo 42 43", "a cat"] + ["the dog"] * 30 + ["the"] * 5 + ["red big"] * 9
    texts += [f"car bus {i}" for i in range(3)] + [f"van {i}" for i in range(4)]
    entries += ["sun", "sky"]
    texts += [f"sun {i}" for i in range(2)] + [f"sky {i}" for i in range(5)]
    run = load_run(_curate(tmp_path, entries, texts, t=3.0))
    bands = {b["band"]: b["entries"] for b in band_samples(run, sample_rows(run))}
    tail = [it["entry"] for it in bands["tail"]]
    assert tail[:2] == ["cat", "42"] and "43" not in tail  # 43's only caption is shown already
    shown = [c["text"] for items in bands.values() for it in items for c in it["captions"]]
    assert len(shown) == len(set(shown))  # not even the same text from two rows
    for items in bands.values():
        for it in items:
            for c in it["captions"]:
                a, b = c["span"]
                assert c["text"][a:b] == it["entry"]


def test_t_origin_words():
    assert t_origin({"t_from": "t"}) == "given (--t)"
    assert "--tail-share" in t_origin({"t_from": "tail_share"})
    got = t_origin({"t_from": "target_size", "target_size": 5000, "target_realised": 4998})
    assert got == "chosen for --target-size 5,000, 4,998 rows at this t"


@pytest.mark.parametrize("t", [0.5, 1.0, 2.0, 5.0, 1e6])
def test_tail_label_stays_inside_the_chart(t):
    """Issue 15: with a small t the label was cut off at the left edge (now an SVG chart: the
    label's box, from a generous glyph width, lies inside the viewBox)."""
    from metacurate.report import svg

    rng = np.random.default_rng(0)
    counts = np.minimum(rng.zipf(1.6, 3000), 10**5).astype(np.int64)
    run = SimpleNamespace(counts=counts, counts_curated=np.minimum(counts, int(t) + 1), t=t)
    chart, cum, label = cumulative_figure(run)
    assert label is not None and cum["split"] is not None
    x0, y0, x1, y1 = label.box()
    assert x0 >= 0 and x1 <= svg.W, (t, label)
    assert y0 >= 0 and y1 <= svg.H, (t, label)
    assert "<svg" in chart.svg() and label.lines[0] in chart.svg()


def test_builtin_note_on_the_page_only_for_the_builtin_list(run_dir, tmp_path):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    text = write_report(run_dir, tmp_path / "r.html").read_text(encoding="utf-8")
    assert manifest["metadata"]["name"].startswith("metacurate-default")
    assert f'<p class="banner" id="builtin-note">{html.escape(BUILTIN_NOTE)}</p>' in text
    out = _curate(tmp_path, ["cat", "dog"], ["a cat", "a dog"], t=1.0)
    assert 'id="builtin-note"' not in write_report(out).read_text(encoding="utf-8")


def test_sample_spreads_over_the_inputs(tmp_path):
    (tmp_path / "pool").mkdir()
    for i in range(40):
        table = pa.table({"text": [f"cat {i} dog"] * 10, "url": [f"u{i}-{j}" for j in range(10)]})
        pq.write_table(table, tmp_path / "pool" / f"p{i:02d}.parquet")
    (tmp_path / "m.txt").write_text("cat\ndog\n")
    out = tmp_path / "out"
    curate(str(tmp_path / "pool"), str(out), metadata=str(tmp_path / "m.txt"), t=5.0, workers=1)
    run = load_run(out)
    plan = plan_sample(run, limit=100, files=16)
    assert len(plan.picks) == 16 and plan.inputs == 40
    names = [Path(inp["path"]).name for inp, _, _ in plan.picks]
    assert names[0] == "p00.parquet" and names[-1] == "p39.parquet"
    assert sum(n for *_, n in plan.picks) == 100
    sample = sample_rows(run, plan)
    assert len(sample) == 100
    files = {int(x.split()[1]) for x in sample.column("text").to_pylist()}
    assert len(files) == 16 and min(files) == 0 and max(files) == 39
    assert "16 of the 40 input files" in plan.describe(len(sample))
    assert "16 of the 40 input files" in write_report(out).read_text(encoding="utf-8")


def test_explorer_data_counts_are_the_runs(run_dir):
    run = load_run(run_dir)
    data = explorer_data(run, sample_rows(run), max_entries=500)
    table = pq.read_table(run_dir / "curated_entry_counts.parquet").to_pandas()
    e = data["entries"]
    assert data["embedded"] == len(e["id"]) == 500 < data["entries_hit"]
    assert e["c"] == sorted(e["c"], reverse=True)
    assert e["c"] == table["count"].to_numpy()[e["id"]].tolist()
    assert e["a"] == table["count_curated"].to_numpy()[e["id"]].tolist()
    assert np.allclose(e["p"], table["p"].to_numpy()[e["id"]], rtol=1e-5)
    assert "\u003c" not in script_json({"x": "</script><b>&"}).replace("\\u003c", "")


_entries = st.lists(st.sampled_from(["a", "b", "a b", "c", "dd"]), min_size=1, max_size=5)
_rows = st.lists(
    st.tuples(
        st.lists(st.sampled_from(["a", "b", "c", "dd", "x", "."]), max_size=8).map(" ".join),
        st.sampled_from([True, False, None]),
    ),
    max_size=30,
)


@given(_entries, _rows, st.integers(1, 3), st.integers(0, 12))
def test_pick_examples_properties(entries, rows, per_side, max_rows):
    """Spans mark the entry; quotas and the row budget hold; an entry with no example while a
    row could give one means the budget ran out; sample counts equal a naive count."""
    texts = [t for t, _ in rows]
    kept = [k for _, k in rows]
    sets = [reference_match(entries, t) for t in texts]
    sample = pa.table(
        {
            "text": texts,
            "entry_ids": pa.array(sets, type=pa.list_(pa.int32())),
            "kept": pa.array(kept, type=pa.bool_()),
        }
    )
    ids = np.arange(len(entries))
    got = pick_examples(sample, pa.array(entries), ids, per_side=per_side, max_rows=max_rows)
    shown = got["rows"]
    assert len(shown["text"]) <= max_rows
    for j, flat in got["examples"].items():
        e = entries[int(j)]
        triples = [flat[k : k + 3] for k in range(0, len(flat), 3)]
        for side in (0, 1):
            n = sum((shown["kept"][r] in (None, 1)) == (side == 0) for r, _, _ in triples)
            assert n <= per_side
        for r, a, b in triples:
            assert shown["text"][r][a:b] == e
    for j in range(len(entries)):
        want_rows = [r for r, s in enumerate(sets) if j in s and texts[r]]
        assert got["sample_rows"][j] == len(want_rows)
        assert got["sample_kept"][j] == sum(kept[r] is not False for r in want_rows)
        if want_rows and str(j) not in got["examples"]:
            assert len(shown["text"]) == max_rows


_texts = st.lists(st.sampled_from(["a", "b", "c", "dd", "x", ".", ",", "a,b", "\t"]), max_size=8)


@given(
    st.lists(st.sampled_from(["a", "b", "a b", "c", "dd", ","]), min_size=1, max_size=6),
    st.lists(
        st.tuples(_texts.map(" ".join) | st.just(""), st.sampled_from([True, False, None])),
        max_size=40,
    ),
    st.integers(1, 4),
    st.integers(0, 40),
    st.randoms(use_true_random=False),
)
def test_pick_examples_equals_the_plain_loop(entries, rows, per_side, max_rows, rnd):
    """Byte for byte the plain loop's choice (tests/reference.py), for any subset of entries
    shown in any order, the budget running out in any pass."""
    from metacurate.report.samples import clip, locate
    from tests.reference import reference_pick_examples

    texts = [t for t, _ in rows]
    kept = [k for _, k in rows]
    sets = [reference_match(entries, t) for t in texts]
    shown = rnd.sample(range(len(entries)), rnd.randint(1, len(entries)))
    sample = pa.table(
        {
            "text": texts,
            "entry_ids": pa.array(sets, type=pa.list_(pa.int32())),
            "kept": pa.array(kept, type=pa.bool_()),
        }
    )
    got = pick_examples(
        sample, pa.array(entries), np.array(shown), per_side=per_side, max_rows=max_rows
    )
    want = reference_pick_examples(
        texts, sets, kept, shown, entries, per_side, max_rows, locate, lambda t: clip(t, 240)
    )
    assert json.dumps(got) == json.dumps(want)


@given(
    st.lists(st.sampled_from(["a", "b", "ab", ",", ".", "\t", "\n", " ", "!", "(a)"]), max_size=12),
    st.sampled_from(["a", "b", "ab", "a b", "b a b"]),
)
def test_locate_agrees_with_the_naive_match(parts, entry):
    from metacurate.report.samples import locate
    from tests.reference import reference_spacing

    text = "".join(parts)
    span = locate(text, entry)
    assert (span is not None) == (reference_match([entry], text) == [0])
    if span is not None:
        assert reference_spacing(text[span[0] : span[1]]).split() == entry.split()


def naive_span(text: str, entry: str) -> tuple[int, int] | None:
    """The span as a table of original positions per spaced character gives it (the code
    before the bisection)."""
    from metacurate.match import WRAPPED

    spaced, origin = [" "], [None]
    for i, ch in enumerate(text):
        if ch in WRAPPED:
            spaced += [" ", ch, " "]
            origin += [None, i, None]
        else:
            spaced.append(" " if ch in "\t\n\r" else ch)
            origin.append(None if ch in "\t\n\r" else i)
    spaced.append(" ")
    origin.append(None)
    k = "".join(spaced).find(f" {entry} ")
    inside = [o for o in origin[k + 1 : k + 1 + len(entry)] if o is not None] if k >= 0 else []
    return (min(inside), max(inside) + 1) if inside else None


@given(
    st.lists(
        st.sampled_from(["a", "b", "ab", ",", ".", "\t", "\n", "\r", " ", "!", "?", "`", ";", ":"]),
        max_size=16,
    ),
    st.sampled_from(["a", "b", "ab", "a b", "b a b", ",", "a ,", ". b", "a . b", "!  a", ": ;"]),
)
def test_locate_equals_the_table_of_origins(parts, entry):
    from metacurate.report.samples import locate

    text = "".join(parts)
    assert locate(text, entry) == naive_span(text, entry)


def test_the_explorer_made_in_another_process_is_the_same(run_dir):
    """``curate`` hands the explorer section to the engine's idle process: the page is the
    one made here (but for the time it took, in the header)."""
    import re

    from metacurate.engine import no_checkpoint
    from metacurate.engine.local import LocalEngine
    from metacurate.report import render_report

    run = load_run(run_dir)
    engine = LocalEngine(2, no_checkpoint, "spawn")
    try:
        engine.warm(2)
        there = render_report(run, submit=engine.submit)
    finally:
        engine.close()
    here = render_report(run)
    made = re.compile(r" in [0-9.]+ s</p></header>")
    assert made.sub("", there) == made.sub("", here)
    assert 'id="explore-data"' in here
