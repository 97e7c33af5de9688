"""``explain`` agrees with what ``curate`` wrote, row by row."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate import balance
from metacurate.errors import MetacurateError
from metacurate.explain import Explainer, explain, format_explanation
from metacurate.files import read_json
from metacurate.match import spacing
from metacurate.pool.readers import read_batches
from metacurate.pool.sources import Source
from metacurate.pool.uid import row_uids
from tests.report.conftest import cli


def _pool_rows(run_dir) -> pa.Table:
    """Every pool row with its text (as the match stage read it), uid and entry_ids."""
    stats = read_json(run_dir / "stats.json")
    parts = []
    for inp in stats["inputs"]:
        side = pq.read_table(run_dir / "matches" / f"{inp['task_id']}.parquet")
        cols = read_json(run_dir / "matches" / f"{inp['task_id']}.done.json")["columns"]
        wanted = [c for c in (cols["text"], cols["url"], cols["uid"]) if c]
        src = pa.Table.from_batches(list(read_batches(Source.from_dict(inp), columns=wanted)))
        uid = row_uids(
            src.column(cols["uid"]) if cols["uid"] else None,
            src.column(cols["url"]) if cols["url"] else None,
            src.column(cols["text"]),
        )
        assert uid.to_pylist() == side.column("uid").to_pylist()  # same identity as curate's
        parts.append(
            pa.table(
                {
                    "text": src.column(cols["text"]).cast(pa.string()),
                    "uid": uid,
                    "entry_ids": side.column("entry_ids"),
                }
            )
        )
    return pa.concat_tables(parts)


def test_explain_agrees_with_curated_output(run_dir):
    manifest = read_json(run_dir / "manifest.json")
    curated = pa.concat_tables(
        [
            pq.read_table(run_dir / i["curated"], columns=["uid", "keep_prob"])
            for i in manifest["inputs"]
        ]
    )
    uids, probs = curated.column("uid").to_pylist(), curated.column("keep_prob").to_pylist()
    curated_prob = dict(zip(uids, probs, strict=True))
    rows = _pool_rows(run_dir)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(rows), size=min(1000, len(rows)), replace=False)
    ex = Explainer(workdir=run_dir)
    assert ex.seed == manifest["seed"] == 3
    kept = 0
    for i in pick.tolist():
        text, uid = rows.column("text")[i].as_py(), rows.column("uid")[i].as_py()
        r = ex.explain(text if text is not None else "", uid)
        assert [m["entry_id"] for m in r["matches"]] == rows.column("entry_ids")[i].as_py()
        assert r["kept"] == (uid in curated_prob), (i, text, uid)
        if r["kept"]:
            kept += 1
            assert r["keep_prob"] == pytest.approx(curated_prob[uid], abs=1e-12)
            assert any(m["hit"] for m in r["matches"])
        else:
            assert not any(m.get("hit") for m in r["matches"])
    assert 0 < kept < len(pick)  # both outcomes are exercised


def test_explain_numbers(run_dir):
    counts = pq.read_table(run_dir / "curated_entry_counts.parquet")
    c = counts.column("count").to_numpy()
    e_head = int(np.argmax(c))
    e_tail = int(np.flatnonzero(c == 1)[0])
    head, tail = counts.column("entry")[e_head].as_py(), counts.column("entry")[e_tail].as_py()
    text = f"{head} x {tail}"
    r = explain(text, workdir=run_dir, uid="some-uid")
    got = {m["entry_id"]: m for m in r["matches"]}
    assert r["spaced"] == spacing(text)
    assert got[e_head]["count"] == int(c[e_head]) and got[e_tail]["count"] == 1
    assert got[e_head]["p"] == pytest.approx(20.0 / c[e_head])
    assert got[e_tail]["p"] == 1.0 and r["keep_prob"] == 1.0 and r["kept"] is True
    assert r["t"] == 20.0 and r["seed"] == 3
    ids = [m["entry_id"] for m in r["matches"]]
    u = balance.uniform(3, r["uid_hash"], np.array(ids))
    assert [m["u"] for m in r["matches"]] == u.tolist()
    other = explain(text, workdir=run_dir, uid="some-uid", seed=4)
    assert other["seed"] == 4 and [m["u"] for m in other["matches"]] != u.tolist()


def test_explain_without_workdir(tmp_path):
    meta = tmp_path / "m.txt"
    meta.write_text("dog\ndog house\nSt. Louis\nhouse\n")
    r = explain("a dog house, in St. Louis!", metadata=meta)
    assert [m["entry_id"] for m in r["matches"]] == [0, 1, 3]
    assert r["spaced"] == " a dog house ,  in St .  Louis !  "
    assert "keep_prob" not in r and "count" not in r["matches"][0]
    with pytest.raises(MetacurateError, match="balanced run"):
        explain("dog", metadata=meta, uid="x")
    assert "--workdir" in format_explanation(r)


def test_explain_refuses_other_metadata(run_dir, tmp_path):
    meta = tmp_path / "m.txt"
    meta.write_text("dog\n")
    with pytest.raises(MetacurateError, match="not the metadata"):
        Explainer(metadata=meta, workdir=run_dir)


def test_explain_cli(run_dir, capsys):
    side = pq.read_table(next((run_dir / "matches").glob("*[0-9a-f].parquet")))
    lengths = np.diff(side.column("entry_ids").combine_chunks().offsets.to_numpy())
    i = int(np.flatnonzero(lengths >= 2)[0])
    rows = _pool_rows(run_dir)
    text, uid = rows.column("text")[i].as_py(), rows.column("uid")[i].as_py()

    assert cli(["explain", text, "--workdir", str(run_dir), "--uid", uid, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["uid"] == uid and isinstance(r["kept"], bool) and len(r["matches"]) >= 2
    assert [m["entry_id"] for m in r["matches"]] == side.column("entry_ids")[i].as_py()

    assert cli(["explain", text, "-w", str(run_dir), "--uid", uid]) == 0
    out = capsys.readouterr().out
    assert ("KEPT" in out) == r["kept"] and ("DROPPED" in out) != r["kept"]
    assert f"spaced:    {spacing(text)!r}" in out and "keep_prob:" in out

    with pytest.raises(MetacurateError, match="--uid needs --workdir"):
        cli(["explain", "dog", "--uid", "x"])


def test_a_text_that_is_not_the_rows_caption_does_not_contradict_the_decision(run_dir):
    """``explain TEXT --uid U`` with another caption showed "u < p_e True" beside
    "DROPPED: no matched entry has u < p_e", with the row's keep_prob."""
    rows = _pool_rows(run_dir)
    ex = Explainer(workdir=run_dir)
    curated = set(pq.read_table(run_dir / "curated", columns=["uid"]).column(0).to_pylist())
    ids = rows.column("entry_ids").to_pylist()
    i = next(
        k for k, u in enumerate(rows.column("uid").to_pylist()) if ids[k] and u not in curated
    )  # a matched row that was dropped
    uid = rows.column("uid")[i].as_py()
    other = "a dog"  # a caption that matches, and whose entries are not the row's
    r = ex.explain(other, uid)
    assert r["in_pool"] is True and r["kept"] is False
    assert r["row_entry_ids"] == rows.column("entry_ids")[i].as_py()
    assert math.isclose(
        r["keep_prob"],
        float(
            balance.keep_prob(
                pa.array([[m["entry_id"] for m in r["matches"]]], pa.list_(pa.int32())), ex.p
            )[0]
        ),
    )
    text = format_explanation(r)
    assert "no matched entry has u < p_e" not in text or not any(m["hit"] for m in r["matches"])
    assert "decided by the row's own caption" in text
