"""``--dedup``: counts over distinct uids, each uid written once, the kept copy independent of
file layout, worker count and the memory budget; the default run untouched."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate.api import curate, match_pool
from tests.reference import reference_match

WORDS = ["dog", "cat", "bird", "house", "red", "blue", "big", "small", "the", "a", "of", "tree"]
METADATA = ["dog", "cat", "bird", "dog house", "red", "big tree", "blue bird", "tree", "small"]


def make_rows(n: int, seed: int) -> list[dict]:
    """Rows with many repeats of (url, text): the same pair again with another ``w``, and
    the same text under other urls; a few null captions."""
    rng = random.Random(seed)
    pairs = []
    for i in range(max(1, n // 3)):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
        pairs.append((f"http://img/{rng.randint(0, n // 4)}.jpg", None if i % 50 == 0 else text))
    return [
        {"url": url, "text": text, "w": rng.randint(0, 3)}
        for url, text in (rng.choice(pairs) for _ in range(n))
    ]


def write_files(rows: list[dict], folder: Path, n_files: int, seed: int) -> list[str]:
    """``rows`` shuffled and split into ``n_files`` files (the last one JSONL when several)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = rows[:]
    random.Random(seed).shuffle(rows)
    paths = []
    for i, chunk in enumerate(np.array_split(np.arange(len(rows)), n_files)):
        part = [rows[j] for j in chunk]
        if n_files > 1 and i == n_files - 1:
            p = folder / f"snap-{seed}-{i}.jsonl"
            p.write_text("".join(json.dumps(r) + "\n" for r in part))
        else:
            p = folder / f"z{seed}-part{i:02d}.parquet"
            pq.write_table(pa.Table.from_pylist(part), p, row_group_size=257)
        paths.append(str(p))
    return paths


def naive_counts(rows: list[dict]) -> list[int]:
    """count[e] over the distinct (url, text) rows, by the definition's naive loop."""
    counts = Counter()
    for _url, text in {(r["url"], r["text"]) for r in rows}:
        counts.update(reference_match(METADATA, text))
    return [counts[i] for i in range(len(METADATA))]


def curated_rows(out: Path) -> list[tuple]:
    rows = []
    for f in sorted((out / "curated").glob("*.parquet")):
        for r in pq.read_table(f).to_pylist():
            rows.append((r["uid"], r["url"], r["text"], r["w"], tuple(r["entry_ids"])))
    return sorted(rows, key=repr)


def run(pool: list[str], out: Path, **options) -> dict:
    options = {"t": 3, "seed": 1, "workers": 1, "batch_rows": 500, "report": False, **options}
    return curate(pool, out, metadata=METADATA, dedup=True, **options)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return make_rows(3000, seed=7)


def test_counts_equal_naive_counts_over_distinct_rows(tmp_path, rows):
    pool = write_files(rows, tmp_path / "pool", 3, seed=1)
    m = run(pool, tmp_path / "out")
    got = pq.read_table(tmp_path / "out" / "entry_counts.parquet").column("count").to_pylist()
    assert got == naive_counts(rows)
    distinct = len({(r["url"], r["text"]) for r in rows})
    assert m["dedup"]["rows_unique"] == distinct
    assert m["dedup"]["rows_removed"] == len(rows) - distinct > 0
    assert m["match"]["dedup"]["rows_removed"] == len(rows) - distinct
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["dedup"]["rows_removed"] == len(rows) - distinct
    # without --dedup the repeats count again (what --dedup is for)
    plain = match_pool(pool, tmp_path / "plain", metadata=METADATA, workers=1)
    assert plain["total_matches"] > sum(got)


def test_each_uid_written_once(tmp_path, rows):
    pool = write_files(rows, tmp_path / "pool", 4, seed=2)
    m = run(pool, tmp_path / "out", t=1000)  # every matched row kept
    uids = [r[0] for r in curated_rows(tmp_path / "out")]
    assert len(uids) == len(set(uids)) == m["curated_rows"]
    assert m["curated_duplicate_uids"] == 0
    matched = {(r["url"], r["text"]) for r in rows if reference_match(METADATA, r["text"])}
    assert len(uids) == len(matched)
    assert {(r[1], r[2]) for r in curated_rows(tmp_path / "out")} == matched
    # the expected size counts each uid once too
    assert m["expected_rows"] == pytest.approx(len(matched))


def test_same_curated_rows_for_1_and_7_files_and_any_workers(tmp_path, rows):
    one_file = write_files(rows, tmp_path / "one", 1, seed=3)
    one = run(one_file, tmp_path / "out1", part_rows=700)  # tasks of whole row groups
    seven = run(write_files(rows, tmp_path / "seven", 7, seed=4), tmp_path / "out7", workers=3)
    assert curated_rows(tmp_path / "out1") == curated_rows(tmp_path / "out7")
    assert len(one["inputs"]) > 1 and all(i["path"] == one_file[0] for i in one["inputs"])
    assert one["curated_rows"] == seven["curated_rows"] > 0
    assert one["dedup"]["rows_removed"] == seven["dedup"]["rows_removed"]
    counts = [
        pq.read_table(tmp_path / o / "entry_counts.parquet").column("count").to_pylist()
        for o in ("out1", "out7")
    ]
    assert counts[0] == counts[1]


def test_the_kept_copy_is_chosen_by_content(tmp_path):
    """Two copies of one (url, text) with other columns: the same one is kept whichever file
    or position it is in."""
    a = {"url": "u", "text": "a red dog", "w": 1}
    b = {"url": "u", "text": "a red dog", "w": 2}
    kept = []
    for order, name in (([a, b], "ab"), ([b, a], "ba")):
        for i, r in enumerate(order):
            pq.write_table(pa.Table.from_pylist([r]), tmp_path / f"{name}{i}-{r['w']}.parquet")
        run([str(tmp_path / f"{name}{i}-{r['w']}.parquet") for i, r in enumerate(order)],
            tmp_path / f"out-{name}", t=1000)  # fmt: skip
        kept.append(curated_rows(tmp_path / f"out-{name}"))
    assert kept[0] == kept[1] and len(kept[0]) == 1


@pytest.mark.slow
def test_small_memory_budget_gives_the_same_result(tmp_path):
    rows = make_rows(20_000, seed=11)
    pool = write_files(rows, tmp_path / "pool", 3, seed=5)
    big = run(pool, tmp_path / "big")
    small = run(pool, tmp_path / "small", dedup_memory_mb=1)
    assert big["dedup"]["partitions"] == 1 and small["dedup"]["partitions"] > 2
    assert curated_rows(tmp_path / "big") == curated_rows(tmp_path / "small")
    got = pq.read_table(tmp_path / "small" / "entry_counts.parquet").column("count").to_pylist()
    assert got == naive_counts(rows)


def test_dedup_across_snapshot_folders(tmp_path, rows):
    """Two extract runs (snapshots) with overlapping rows: curate --dedup over both folders."""
    first = write_files(rows[:2000], tmp_path / "CC-2024-10", 2, seed=6)
    second = write_files(rows[1000:], tmp_path / "CC-2024-18", 2, seed=7)
    folders = [str(tmp_path / "CC-2024-10"), str(tmp_path / "CC-2024-18")]
    m = run(folders, tmp_path / "out", report=True)
    assert len(first) == len(second) == 2
    got = pq.read_table(tmp_path / "out" / "entry_counts.parquet").column("count").to_pylist()
    assert got == naive_counts(rows)
    assert m["dedup"]["rows_unique"] == len({(r["url"], r["text"]) for r in rows})
    html = (tmp_path / "out" / "report.html").read_text()
    assert "duplicate rows removed (--dedup)" in html
    assert f"{m['dedup']['rows_removed']:,}" in html


def test_toggling_dedup_redoes_what_depends_on_it(tmp_path, rows):
    pool = write_files(rows, tmp_path / "pool", 2, seed=8)
    plain = curate(pool, tmp_path / "ref", metadata=METADATA, t=3, seed=1, workers=1,
                   report=False)  # fmt: skip
    out = tmp_path / "out"
    run(pool, out)
    again = curate(pool, out, metadata=METADATA, t=3, seed=1, workers=1, report=False)
    assert "dedup" not in again and not (out / "dedup").exists()
    assert curated_rows(out) == curated_rows(tmp_path / "ref")
    assert again["curated_rows"] == plain["curated_rows"]
    for name in ("entry_counts.parquet", "curated_entry_counts.parquet"):
        assert (out / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()
    deduped = run(pool, out)
    assert deduped["dedup"]["rows_removed"] > 0
    uids = [r[0] for r in curated_rows(out)]
    assert len(uids) == len(set(uids))


def test_adding_a_file_can_move_the_kept_copy(tmp_path):
    """A later file holding a copy that wins: the earlier file's row is no longer written."""
    low = {"url": "u", "text": "a red dog", "w": 0}
    high = {"url": "u", "text": "a red dog", "w": 3}
    from metacurate.dedup import row_keys

    keys = row_keys(pa.Table.from_pylist([low, high]))
    first, later = (low, high) if keys[0] > keys[1] else (high, low)  # later wins
    pq.write_table(pa.Table.from_pylist([first]), tmp_path / "a.parquet")
    run([str(tmp_path / "a.parquet")], tmp_path / "out", t=1000)
    assert [r[3] for r in curated_rows(tmp_path / "out")] == [first["w"]]
    pq.write_table(pa.Table.from_pylist([later]), tmp_path / "b.parquet")
    m = run([str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")], tmp_path / "out", t=1000)
    assert [r[3] for r in curated_rows(tmp_path / "out")] == [later["w"]]
    assert m["dedup"]["rows_removed"] == 1


def test_plan_expects_the_unique_rows(tmp_path, rows):
    from metacurate.plan import plan

    pool = write_files(rows, tmp_path / "pool", 2, seed=10)
    m = run(pool, tmp_path / "out", t=3)
    doc = plan(tmp_path / "out", ts=[3])
    row = next(r for r in doc["rows"] if r["t"] == 3)
    assert row["expected_rows"] == pytest.approx(m["expected_rows"], rel=1e-9)
    assert doc["pool_rows"] == m["dedup"]["rows_unique"]


def test_match_dedup_then_balance_into_another_folder(tmp_path, rows):
    from metacurate.api import balance_workdir

    pool = write_files(rows, tmp_path / "pool", 3, seed=14)
    stats = match_pool(pool, tmp_path / "work", metadata=METADATA, workers=1, dedup=True)
    got = pq.read_table(tmp_path / "work" / "entry_counts.parquet").column("count").to_pylist()
    assert got == naive_counts(rows) and stats["dedup"]["rows_removed"] > 0
    m = balance_workdir(tmp_path / "work", tmp_path / "out", t=1000, workers=1)
    assert m["dedup"] == stats["dedup"]
    uids = [r[0] for r in curated_rows(tmp_path / "out")]
    assert len(uids) == len(set(uids)) == m["curated_rows"] > 0
    sized = balance_workdir(tmp_path / "work", tmp_path / "sized", target_size=40, workers=1)
    assert sized["target_realised"] == sized["curated_rows"]  # chosen over unique rows only
    uids = [r[0] for r in curated_rows(tmp_path / "sized")]
    assert len(uids) == len(set(uids))
    per_image = balance_workdir(
        tmp_path / "work", tmp_path / "img", t=1000, image_column="url", workers=1
    )
    kept = curated_rows(tmp_path / "img")
    assert len({r[1] for r in kept}) == len(kept) == per_image["curated_rows"] > 0
    matched_urls = {r["url"] for r in rows if reference_match(METADATA, r["text"])}
    assert len(kept) == len(matched_urls)  # t above every count: one text of every image
