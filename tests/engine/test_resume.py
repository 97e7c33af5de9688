"""Crash-safe resume, incremental runs and the engines: byte-identical outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate.api import curate, match_pool
from metacurate.demo import make_sample
from metacurate.metadata import load_default_metadata

# Fields that record when, how long or where it ran, not what: left out of byte comparisons.
VOLATILE = {"seconds", "files_matched_now", "command", "workdir", "out", "engine"}


@pytest.fixture(scope="module")
def metadata():
    return load_default_metadata()


@pytest.fixture(scope="module")
def pool(tmp_path_factory, metadata) -> list[str]:
    """Four files of a generated pool (3,000 rows each)."""
    d = tmp_path_factory.mktemp("pool")
    whole = pq.read_table(make_sample(d / "whole.parquet", metadata, rows=12_000, seed=4))
    paths = []
    for i in range(4):
        p = d / f"part-{i}.parquet"
        pq.write_table(whole.slice(i * 3000, 3000), p, row_group_size=1000)
        paths.append(str(p))
    return paths


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file of an output folder, volatile JSON fields removed; report.html left out."""
    files = {}
    for p in sorted(out.rglob("*")):
        if p.is_dir() or p.name == "report.html":
            continue
        rel = str(p.relative_to(out))
        data = p.read_bytes()
        if p.suffix == ".json" and p.name != "metadata.json":
            obj = json.loads(data)
            if isinstance(obj, dict):
                obj = _strip(obj)
            data = json.dumps(obj, sort_keys=True).encode()
        files[rel] = data
    return files


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def curate_cli(pool, out, env_extra=None, workers=1, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "metacurate.cli",
            "curate",
            *pool,
            "--out",
            str(out),
            "--t",
            "20",
            "--seed",
            "5",
            "--workers",
            str(workers),
            "--batch-rows",
            "1000",
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, pool) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("clean") / "out"
    r = curate_cli(pool, out)
    assert r.returncode == 0, r.stderr
    return snapshot(out)


def test_clean_run_leaves_exactly_these_files(clean_run, pool):
    names = set(clean_run)
    tasks = {Path(n).name.split(".")[0] for n in names if n.startswith("matches/")}
    assert len(tasks) == len(pool)
    expected = {
        "manifest.json",
        "stats.json",
        "metadata.json",
        "entry_counts.parquet",
        "curated_entry_counts.parquet",
        "uids.npy",
        ".metacurate.lock",  # emptied at the end, never removed (lock.py)
    }
    for t in tasks:
        expected |= {
            f"matches/{t}.parquet",
            f"matches/{t}.counts.parquet",
            f"matches/{t}.done.json",
            f"curated/{t}.parquet",
            f"balance/{t}.decisions.parquet",
            f"balance/{t}.counts.parquet",
            f"balance/{t}.done.json",
        }
    assert names == expected  # the matcher index lives in the shared cache, not here


@pytest.mark.slow
@pytest.mark.parametrize(
    "crash_at",
    ["match-batch:2", "match-batch:7", "count-file:2", "balance-batch:3", "balance-record:2"],
)
def test_killed_and_rerun_is_byte_identical(tmp_path, pool, clean_run, crash_at):
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-m", "tests.engine.crash", crash_at, str(out), *pool],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == -9, f"expected SIGKILL at {crash_at}: {r.returncode} {r.stderr}"
    assert not (out / "manifest.json").exists()
    r = curate_cli(pool, out)
    assert r.returncode == 0, r.stderr
    got = snapshot(out)
    assert sorted(got) == sorted(clean_run)  # no leftovers, nothing missing
    assert [k for k in got if got[k] != clean_run[k]] == []
    curated = pq.read_table(out / "curated")
    uids = curated.column("uid").to_pylist()
    assert len(uids) == len(set(uids))  # no duplicated rows


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_two_workers_give_the_same_bytes(tmp_path, pool, clean_run, start_method):
    r = curate_cli(pool, tmp_path / "out", None, 2, "--start-method", start_method)
    assert r.returncode == 0, r.stderr
    got = snapshot(tmp_path / "out")
    assert [k for k in got if got.get(k) != clean_run.get(k)] == []
    engine = json.loads((tmp_path / "out" / "manifest.json").read_text())["engine"]
    assert engine == {"kind": "local", "workers": 2, "start_method": start_method}


def test_adding_a_file_matches_only_that_file(tmp_path, pool, metadata):
    out = tmp_path / "out"
    first = match_pool(tuple(pool[:3]), out=str(out), metadata=metadata)
    assert first["files_matched_now"] == 3
    done = {p: p.stat().st_mtime_ns for p in (out / "matches").glob("*.done.json")}
    second = match_pool(tuple(pool), out=str(out), metadata=metadata)
    assert second["files_matched_now"] == 1
    assert second["rows"] == first["rows"] + 3000
    assert all(p.stat().st_mtime_ns == t for p, t in done.items())
    whole = match_pool(tuple(pool), out=str(tmp_path / "fresh"), metadata=metadata)
    counts = pq.read_table(out / "entry_counts.parquet")
    fresh = pq.read_table(tmp_path / "fresh" / "entry_counts.parquet")
    assert counts.equals(fresh)
    assert whole["total_matches"] == second["total_matches"]


def test_changed_input_is_rematched(tmp_path, pool, metadata):
    out = tmp_path / "out"
    local = [str(tmp_path / Path(p).name) for p in pool[:2]]
    for src, dst in zip(pool[:2], local, strict=True):
        Path(dst).write_bytes(Path(src).read_bytes())
    match_pool(tuple(local), out=str(out), metadata=metadata)
    t = pq.read_table(local[0])
    pq.write_table(t.slice(0, 100), local[0])
    again = match_pool(tuple(local), out=str(out), metadata=metadata)
    assert again["files_matched_now"] == 1 and again["rows"] == 3100


def test_several_texts_per_image(tmp_path, metadata):
    """With --image-column, each image keeps at most one text, and counts stay per text."""
    base = pq.read_table(make_sample(tmp_path / "s.parquet", metadata, rows=3000, seed=8))
    urls = [f"https://img/{i % 1000}.jpg" for i in range(base.num_rows)]  # 3 texts an image
    t = base.set_column(base.column_names.index("url"), "url", pa.array(urls))
    pq.write_table(t.slice(0, 1700), tmp_path / "a.parquet")
    pq.write_table(t.slice(1700), tmp_path / "b.parquet")
    paths = (str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet"))
    results = []
    for k, files in enumerate([paths, paths[::-1]]):
        m = curate(
            files,
            tmp_path / f"o{k}",
            metadata=metadata,
            report=False,
            t=1e9,
            seed=2,
            image_column="url",
        )
        cur = pq.read_table(tmp_path / f"o{k}" / "curated")
        assert len(set(cur.column("url").to_pylist())) == cur.num_rows  # one text per image
        results.append(set(cur.column("uid").to_pylist()))
        assert m["match"]["total_matches"] > cur.num_rows
    assert results[0] == results[1]
    # with t above every count, every image with a matched text keeps exactly one
    images_with_match = set()
    for path in paths:
        side = next((tmp_path / "o0" / "matches").glob(f"{Path(path).stem}-*[0-9a-f].parquet"))
        ids = pq.read_table(side).column("entry_ids").to_pylist()
        urls_here = pq.read_table(path).column("url").to_pylist()
        images_with_match |= {u for u, e in zip(urls_here, ids, strict=True) if e}
    assert len(results[0]) == len(images_with_match) > 500


def test_big_parquet_file_is_split_by_row_groups(tmp_path, pool, metadata):
    """A file larger than part_rows becomes several tasks; results equal the unsplit run."""
    whole = tmp_path / "big.parquet"
    pq.write_table(
        pa.concat_tables([pq.read_table(p) for p in pool]), whole, row_group_size=1000
    )  # 12 row groups
    outs = {}
    for name, part_rows in [("split", 2500), ("whole", 10**9)]:
        out = tmp_path / name
        m = curate(
            whole,
            out,
            metadata=metadata,
            report=False,
            part_rows=part_rows,
            workers=2,
            batch_rows=700,
            t=20.0,
            seed=5,
        )
        outs[name] = (m, pq.read_table(out / "curated"))
        sides = sorted((out / "matches").glob("*[0-9a-f].parquet"))
        rows = pq.read_table(sides[0]).column("row").to_pylist() if len(sides) == 1 else None
        if name == "split":
            assert len(m["inputs"]) == 4  # row groups [0,3) [3,6) [6,9) [9,12)
            assert [i["row_groups"] for i in m["inputs"]] == [[0, 3], [3, 6], [6, 9], [9, 12]]
            side_rows = sorted(
                r
                for s in (out / "matches").glob("*-rg*[0-9].parquet")
                for r in pq.read_table(s).column("row").to_pylist()
            )
            assert side_rows == list(range(12_000))
        else:
            assert rows == list(range(12_000))
    split, whole_run = outs["split"], outs["whole"]
    assert split[0]["curated_rows"] == whole_run[0]["curated_rows"]
    assert set(split[1].column("uid").to_pylist()) == set(whole_run[1].column("uid").to_pylist())
    assert split[0]["match"]["total_matches"] == whole_run[0]["match"]["total_matches"]
