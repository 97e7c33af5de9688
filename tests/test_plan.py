"""``metacurate plan``: expected curated size and tail share per t, against a naive loop."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metacurate.cli import main
from metacurate.errors import MetacurateError
from metacurate.plan import default_ts, expected_sizes, plan, scaled_t
from tests.reference import reference_match

METADATA = ["dog", "cat", "red", "a dog", "big", "house", "dog house", "the", "blue", "tree"]
WORDS = ["dog", "cat", "red", "a", "big", "house", "the", "blue", "tree", "zzz", "Dog"]


def _captions(n: int, seed: int) -> list[str | None]:
    rng = random.Random(seed)
    out: list[str | None] = []
    for _ in range(n):
        k = rng.randint(0, 5)
        out.append(" ".join(rng.choice(WORDS) for _ in range(k)) if k else rng.choice(["", None]))
    return out


@pytest.fixture(scope="module")
def matched(tmp_path_factory) -> tuple[Path, list[str | None]]:
    """A small pool of two Parquet files, matched with the CLI."""
    root = tmp_path_factory.mktemp("plan")
    (root / "pool").mkdir()
    texts = _captions(700, 1)
    for i, part in enumerate((texts[:300], texts[300:])):
        urls = [f"http://x/{i}/{j}.jpg" for j in range(len(part))]
        pq.write_table(pa.table({"url": urls, "text": part}), root / "pool" / f"p{i}.parquet")
    (root / "m.json").write_text(json.dumps(METADATA))
    work = root / "work"
    rc = main(["match", str(root / "pool"), "--out", str(work), "--metadata", str(root / "m.json")])
    assert rc == 0
    return work, texts


def naive_plan_row(texts: list[str | None], t: float) -> tuple[float, float, int]:
    """(expected size, tail share, head entries) by the formulas of semantics.md section 3."""
    sets = [reference_match(METADATA, x) for x in texts]
    count = [sum(e in s for s in sets) for e in range(len(METADATA))]
    p = [1.0 if c < t else t / c for c in count]
    size = 0.0
    for s in sets:
        if s:
            miss = 1.0
            for e in s:
                miss *= 1.0 - p[e]
            size += 1.0 - miss
    total = sum(count)
    share = sum(c for c in count if c < t) / total if total else 0.0
    return size, share, sum(c >= t for c in count)


def test_plan_equals_naive_computation(matched) -> None:
    work, texts = matched
    doc = plan(work, ts=[7, 33.5], tail_shares=[0.5])
    assert doc["pool_rows"] == len(texts)
    ts = [r["t"] for r in doc["rows"]]
    assert ts == sorted(set(ts)) and 7.0 in ts and 33.5 in ts and 20_000.0 in ts
    above = 2.0 ** int(np.ceil(np.log2(doc["largest_count"] + 1)))  # every entry is tail there
    assert 1.0 in ts and above in ts and 2 * above not in ts and doc["largest_count"] < above
    for row in doc["rows"]:
        size, share, head = naive_plan_row(texts, row["t"])
        assert row["expected_rows"] == pytest.approx(size, rel=1e-12, abs=1e-9), row["t"]
        assert row["tail_share"] == pytest.approx(share, abs=1e-15)
        assert row["head_entries"] == head
        assert row["expected_fraction"] == pytest.approx(size / len(texts))
    labels = {r["t"]: r["label"] for r in doc["rows"]}
    assert labels[7.0] == "asked" and "MetaCLIP 400M" in labels[20_000.0]
    assert any("tail share 0.5 asked" in v for v in labels.values())
    assert "scaled to this pool" in labels[1.0]  # 20,000 x 700 / 1.6B < 1


def test_plan_agrees_with_balance(matched, tmp_path) -> None:
    """The expected size 'balance --t T' records is the plan's for that t."""
    work, _ = matched
    out = tmp_path / "bal"
    assert main(["balance", str(work), "--t", "9", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    (row,) = [r for r in plan(work, ts=[9])["rows"] if r["t"] == 9.0]
    assert row["expected_rows"] == pytest.approx(manifest["expected_rows"], rel=1e-9)
    assert row["tail_share"] == pytest.approx(manifest["tail_share"])
    # the balance output folder points back at the work folder: plan reads through it
    assert plan(out, ts=[9])["rows"] == plan(work, ts=[9])["rows"]


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def test_plan_cli_writes_nothing(matched, capsys) -> None:
    work, _ = matched
    before = _listing(work)
    assert main(["plan", str(work), "--t", "5"]) == 0
    text = capsys.readouterr().out
    assert "expected rows" in text and "tail share" in text and "MetaCLIP 400M" in text
    assert f"metacurate balance {work} --t T --out OUT" in text
    assert main(["plan", str(work), "--json", "--tail-share", "0.2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rows"] and {"t", "expected_rows", "tail_share"} <= set(doc["rows"][0])
    assert _listing(work) == before


def test_plan_user_errors(matched, tmp_path, capsys) -> None:
    work, _ = matched
    with pytest.raises(MetacurateError, match="no such folder"):
        plan(tmp_path / "nope")
    with pytest.raises(MetacurateError, match="metacurate match"):
        plan(tmp_path)
    with pytest.raises(MetacurateError, match="t must be > 0"):
        plan(work, ts=[0])
    assert main(["plan", str(tmp_path)]) == 2
    assert "metacurate match" in capsys.readouterr().err


def test_default_ts_and_scaled_t() -> None:
    ts = default_ts(np.array([0, 3, 100]), 10_000)
    assert ts[:8] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0] and 256.0 not in ts
    assert {20_000.0, 170_000.0} <= set(ts)
    assert scaled_t(1_600_000_000) == 20_000.0 and scaled_t(160_000_000) == 2_000.0
    assert scaled_t(10) == 1.0


@given(
    st.lists(st.lists(st.integers(0, 7), max_size=5), min_size=1, max_size=40),
    st.lists(st.floats(0.1, 50), min_size=1, max_size=4),
)
def test_expected_sizes_equal_naive(rows: list[list[int]], ts: list[float]) -> None:
    sets = [sorted(set(r)) for r in rows]
    counts = np.bincount([e for s in sets for e in s], minlength=8).astype(np.int64)
    ids = pa.array(sets, type=pa.list_(pa.int32()))
    got = expected_sizes([ids.slice(0, len(ids) // 2), ids.slice(len(ids) // 2)], counts, ts)
    for t, size in zip(ts, got, strict=True):
        p = [1.0 if c < t else t / c for c in counts]
        want = sum(1.0 - float(np.prod([1.0 - p[e] for e in s])) for s in sets if s)
        assert size == pytest.approx(want, rel=1e-12, abs=1e-12)
