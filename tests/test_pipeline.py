"""match → count → balance on real files: side-cars, counts, stats, curated outputs."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate import MetacurateError
from metacurate.api import balance_workdir, curate, match_pool
from metacurate.cli import main
from metacurate.demo import make_sample
from metacurate.match.matcher import Matcher
from metacurate.metadata import Metadata, load_default_metadata
from tests.conftest import shared_dir, shared_file
from tests.reference import reference_match

SMALL_METADATA = ["dog", "cat", "red car", "car", "the", "photo", "New York", "of", "a"]


@pytest.fixture(scope="module")
def default_metadata() -> Metadata:
    return load_default_metadata()


@pytest.fixture(scope="module")
def pool_file(tmp_path_factory, default_metadata):
    """The LAION sample when the shared data is there, else the generated demo pool."""
    d = shared_dir()
    if d is not None and (d / "data/captions/laion_sample_10k.parquet").exists():
        return d / "data/captions/laion_sample_10k.parquet"
    return make_sample(tmp_path_factory.mktemp("pool") / "pool.parquet", default_metadata, 5000)


def _text_column(path) -> str:
    names = pq.read_schema(path).names
    return "TEXT" if "TEXT" in names else "text"


def test_match_sidecars_counts_and_stats(tmp_path, pool_file, default_metadata):
    out = tmp_path / "w"
    stats = match_pool((str(pool_file),), str(out), metadata=default_metadata)
    texts = pq.read_table(pool_file, columns=[_text_column(pool_file)]).column(0)
    sidecars = list((out / "matches").glob("*[!s].parquet"))
    assert len(sidecars) == 1
    side = pq.read_table(sidecars[0])
    assert side.schema.names == ["row", "uid", "uid_hash", "entry_ids"]
    assert side.column("row").to_pylist() == list(range(len(texts)))
    assert side.schema.metadata[b"metacurate.metadata_hash"] == default_metadata.hash.encode()
    # side-car equals a fresh match; spot-check 200 rows against the naive loop
    assert side.column("entry_ids").combine_chunks() == Matcher(default_metadata).match_batch(texts)
    ids = side.column("entry_ids").to_pylist()
    entries = list(default_metadata.entries)
    for i in range(0, len(texts), len(texts) // 200):
        assert ids[i] == reference_match(entries, texts[i].as_py())
    counts = pq.read_table(out / "entry_counts.parquet")
    assert counts.schema.names == ["entry_id", "entry", "count"]
    assert counts.num_rows == len(default_metadata)
    c = counts.column("count").to_numpy()
    expected = np.bincount(
        np.concatenate([np.array(x, int) for x in ids] + [np.zeros(0, int)]),
        minlength=len(default_metadata),
    )
    assert (c == expected).all()
    on_disk = json.loads((out / "stats.json").read_text())
    assert on_disk["rows"] == stats["rows"] == len(texts)
    assert stats["rows_matched"] == sum(1 for x in ids if x)
    assert stats["total_matches"] == int(c.sum())
    assert stats["entries_hit"] == int((c > 0).sum())
    assert stats["entries_hit"] + stats["entries_never_hit"] == len(default_metadata)
    assert stats["rows_no_text"] == sum(1 for t in texts.to_pylist() if not t)
    assert on_disk["metadata"]["hash"] == default_metadata.hash


def test_cc3m_tsv_with_named_columns(tmp_path):
    tsv = shared_file("captions/cc3m_validation.tsv")
    out = tmp_path / "w"
    rc = main(
        [
            "match",
            str(tsv),
            "--columns",
            "caption,url",
            "--out",
            str(out),
            "--metadata",
            str(_write_metadata(tmp_path, SMALL_METADATA)),
            "--workers",
            "1",
        ]
    )
    assert rc == 0
    with open(tsv, encoding="utf-8", newline="") as f:
        captions = [r[0] for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rows"] == len(captions) == 15_833
    expected = sum(1 for c in captions if reference_match(SMALL_METADATA, c))
    assert stats["rows_matched"] == expected


def _write_metadata(tmp_path, entries) -> os.PathLike:
    p = tmp_path / "metadata.json"
    p.write_text(json.dumps(entries))
    return p


def _write_pool(path, texts, urls=None, uids=None):
    cols = {"text": pa.array(texts, pa.string())}
    if urls is not None:
        cols["url"] = pa.array(urls, pa.string())
    if uids is not None:
        cols["uid"] = pa.array(uids, pa.string())
    pq.write_table(pa.table(cols), path)
    return path


def test_null_empty_invalid_rows_counted(tmp_path):
    md = _write_metadata(tmp_path, SMALL_METADATA)
    csv_path = tmp_path / "bad.csv"
    csv_path.write_bytes(b"text,url\ndog,u1\n,u2\ncat \xff\xfe,u3\nred car,u4\n")
    pq_path = _write_pool(tmp_path / "n.parquet", [None, "a dog", ""])
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    stats = match_pool(
        (str(csv_path), str(pq_path), str(empty)), str(tmp_path / "w"), metadata=str(md)
    )
    assert stats["rows"] == 7
    assert stats["rows_invalid_utf8"] == 1
    assert stats["rows_null"] + stats["rows_empty"] == 3  # CSV empty field, null, ""
    assert stats["rows_matched"] == 3


def test_missing_column_lists_columns(tmp_path):
    p = tmp_path / "x.parquet"
    pq.write_table(pa.table({"foo": ["a"], "bar": ["b"]}), p)
    md = _write_metadata(tmp_path, SMALL_METADATA)
    with pytest.raises(MetacurateError, match="foo, bar|foo.*bar"):
        match_pool((str(p),), str(tmp_path / "w"), metadata=str(md))


def test_corrupt_file_named_and_skippable(tmp_path):
    md = _write_metadata(tmp_path, SMALL_METADATA)
    good = _write_pool(tmp_path / "good.parquet", ["a dog", "cat"])
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet at all")
    pool, out = (str(good), str(bad)), str(tmp_path / "w")
    with pytest.raises(MetacurateError, match="bad.parquet"):
        match_pool(pool, out, metadata=str(md))
    stats = match_pool(pool, out, metadata=str(md), skip_bad_files=True)
    assert stats["rows"] == 2
    assert [b["path"] for b in stats["bad_files"]] == [str(bad)]
    assert "bad.parquet" in stats["bad_files"][0]["error"]


def test_bad_metadata_refused(tmp_path):
    p = tmp_path / "m.json"
    p.write_text('{"dog": 1}')
    pool = _write_pool(tmp_path / "p.parquet", ["dog"])
    with pytest.raises(MetacurateError, match="list of strings"):
        match_pool((str(pool),), str(tmp_path / "w"), metadata=str(p))


def test_cli_user_error_is_one_line_exit_2(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "metacurate.cli",
            "match",
            str(tmp_path / "nope.parquet"),
            "--out",
            str(tmp_path / "w"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "nope.parquet" in r.stderr


def test_workdir_with_other_metadata_refused(tmp_path):
    pool = _write_pool(tmp_path / "p.parquet", ["dog", "cat"])
    m1 = _write_metadata(tmp_path, ["dog"])
    match_pool((str(pool),), str(tmp_path / "w"), metadata=str(m1))
    m2 = tmp_path / "m2.json"
    m2.write_text(json.dumps(["cat"]))
    with pytest.raises(MetacurateError, match="other metadata"):
        match_pool((str(pool),), str(tmp_path / "w"), metadata=str(m2))
    stats = match_pool((str(pool),), str(tmp_path / "w"), metadata=str(m2), force=True)
    assert stats["total_matches"] == 1 and stats["metadata"]["entries"] == 1


# --- balance / curate -----------------------------------------------------------------------


def _curated_uids(out) -> set[str]:
    t = pq.read_table(out / "curated")
    return set(t.column("uid").to_pylist())


def test_curate_laion_keeps_columns(tmp_path, pool_file):
    out = tmp_path / "out"
    m = curate(str(pool_file), str(out), t=20.0, seed=0)
    t = pq.read_table(out / "curated")
    text_col = _text_column(pool_file)
    assert text_col in t.column_names and "entry_ids" in t.column_names
    assert "keep_prob" in t.column_names
    assert t.num_rows == m["curated_rows"] > 0
    assert min(len(x) for x in t.column("entry_ids").to_pylist()) >= 1  # no-match rows dropped
    pd = pytest.importorskip("pandas")
    df = pd.read_parquet(out / "curated")
    assert len(df) == m["curated_rows"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["curated_rows"] == m["curated_rows"]
    assert (
        abs(manifest["curated_rows"] - manifest["expected_rows"])
        < 4 * np.sqrt(manifest["expected_rows"]) + 1
    )
    assert manifest["metadata"]["hash"] and manifest["seed"] == 0 and manifest["t"] == 20.0


def _split(pool_file, tmp_path, parts: int):
    t = pq.read_table(pool_file)
    bounds = np.linspace(0, t.num_rows, parts + 1).astype(int)
    paths = []
    for i in range(parts):
        p = tmp_path / f"part{i}.parquet"
        pq.write_table(t.slice(bounds[i], bounds[i + 1] - bounds[i]), p)
        paths.append(str(p))
    return paths


def test_curated_rows_independent_of_workers_files_and_order(tmp_path, pool_file, default_metadata):
    # a uid column makes row identity independent of file layout
    t = pq.read_table(pool_file)
    if "uid" not in t.column_names:
        t = t.append_column("uid", pa.array([f"row{i}" for i in range(t.num_rows)]))
    base = tmp_path / "pool.parquet"
    pq.write_table(t, base)
    results = []
    layouts = [
        ([str(base)], 1),
        ([str(base)], 2),
        (_split(base, tmp_path, 7), 4),
        (list(reversed(_split(base, tmp_path, 7))), 2),
    ]
    for k, (paths, workers) in enumerate(layouts):
        out = tmp_path / f"o{k}"
        curate(paths, out, workers=workers, t=15.0, seed=3)
        results.append(_curated_uids(out))
    assert all(r == results[0] for r in results)
    assert len(results[0]) > 100


def test_nesting_target_size_and_seed(tmp_path, pool_file):
    work = tmp_path / "w"
    match_pool((str(pool_file),), str(work))
    kept = {}
    for t in (5.0, 20.0, 80.0):
        out = tmp_path / f"t{t}"
        balance_workdir(str(work), out=str(out), t=t, seed=1)
        kept[t] = _curated_uids(out)
    assert kept[5.0] <= kept[20.0] <= kept[80.0] and kept[5.0] != kept[80.0]
    stats = json.loads((work / "stats.json").read_text())
    everything = balance_workdir(str(work), out=str(tmp_path / "all"), t=1e12, seed=1)
    assert everything["curated_rows"] == stats["rows_matched"]
    n = stats["rows_matched"] // 3
    m = balance_workdir(
        str(work), out=str(tmp_path / "n"), target_size=n, seed=1, allow_t_below_1=True
    )
    assert abs(m["curated_rows"] - n) <= 0.005 * n
    assert m["target_realised"] == m["curated_rows"]
    ts = balance_workdir(str(work), out=str(tmp_path / "ts"), tail_share=0.5, seed=1)
    assert ts["t"] >= 1 and abs(ts["tail_share"] - 0.5) < 0.2
    other_seed = balance_workdir(str(work), out=str(tmp_path / "s2"), t=20.0, seed=2)
    assert _curated_uids(tmp_path / "s2") != kept[20.0]
    assert abs(other_seed["curated_rows"] - len(kept[20.0])) < 0.2 * len(kept[20.0])


def test_balance_needs_one_threshold(tmp_path):
    with pytest.raises(MetacurateError, match="exactly one"):
        balance_workdir(str(tmp_path), out=str(tmp_path), t=1.0, tail_share=0.3)


def test_datacomp_uids_npy(tmp_path, default_metadata):
    pool = make_sample(tmp_path / "p.parquet", default_metadata, rows=2000)
    out = tmp_path / "o"
    m = curate([str(pool)], out, metadata=default_metadata, t=10.0, workers=1)
    assert m["uids_npy"] is True
    arr = np.load(out / "uids.npy")
    assert arr.dtype == np.dtype("u8,u8") and len(arr) == m["curated_rows"]
    assert (np.sort(arr) == arr).all()
    curated = sorted(pq.read_table(out / "curated").column("uid").to_pylist())
    expected = sorted((int(u[:16], 16), int(u[16:], 16)) for u in curated)
    assert [tuple(map(int, x)) for x in arr] == expected


def test_demo_runs(tmp_path):
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    manifest = json.loads((tmp_path / "demo" / "manifest.json").read_text())
    assert manifest["curated_rows"] > 0 and manifest["pool_rows"] == 10_000
