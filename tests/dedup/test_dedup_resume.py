"""A killed ``curate --dedup`` resumes to the same bytes, and leaves exactly these files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.dedup.test_dedup import make_rows, write_files
from tests.engine.test_resume import snapshot

REPO = Path(__file__).resolve().parents[2]


def crash_run(spec: str, out: Path, pool: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tests.dedup.crash_dedup", spec, str(out), *pool],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> list[str]:
    return write_files(make_rows(12_000, seed=3), tmp_path_factory.mktemp("pool"), 4, seed=9)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, pool) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("clean") / "out"
    r = crash_run("none:0", out, pool)
    assert r.returncode == 0, r.stderr
    return snapshot(out)


def test_clean_dedup_run_leaves_exactly_these_files(clean_run, pool):
    names = set(clean_run)
    tasks = {n.split("/")[1].split(".")[0] for n in names if n.startswith("matches/")}
    parts = {n.split("/")[2].split(".")[0] for n in names if n.startswith("dedup/parts/")}
    assert len(tasks) == len(pool) and len(parts) == 3  # 12,000 rows in 1 MiB: 3 partitions
    expected = {
        ".metacurate.lock",  # emptied at the end, never removed (lock.py)
        "manifest.json",
        "stats.json",
        "metadata.json",
        "entry_counts.parquet",
        "curated_entry_counts.parquet",
    }
    for p in parts:
        expected |= {f"dedup/parts/{p}.parquet", f"dedup/parts/{p}.done.json"}
    for t in tasks:
        expected |= {
            f"matches/{t}.parquet",
            f"matches/{t}.counts.parquet",
            f"matches/{t}.done.json",
            f"dedup/keys/{t}.parquet",
            f"dedup/keys/{t}.done.json",
            f"dedup/unique/{t}.parquet",
            f"dedup/unique/{t}.counts.parquet",
            f"dedup/unique/{t}.done.json",
            f"curated/{t}.parquet",
            f"balance/{t}.select.parquet",
            f"balance/{t}.decisions.parquet",
            f"balance/{t}.counts.parquet",
            f"balance/{t}.done.json",
        }
    assert names - {"uids.npy"} == expected


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", ["dedup-keys-batch:5", "dedup-part:2", "dedup-unique:3"])
def test_killed_dedup_is_byte_identical_after_rerun(tmp_path, pool, clean_run, crash_at):
    out = tmp_path / "out"
    r = crash_run(crash_at, out, pool)
    assert r.returncode == -9, f"expected SIGKILL at {crash_at}: {r.returncode} {r.stderr}"
    assert not (out / "manifest.json").exists()
    r = crash_run("none:0", out, pool)
    assert r.returncode == 0, r.stderr
    got = snapshot(out)
    assert sorted(got) == sorted(clean_run)
    assert [k for k in got if got[k] != clean_run[k]] == []


@pytest.mark.parametrize("victim", ["dedup/keys", "dedup/parts", "dedup/unique"])
def test_a_lost_dedup_output_is_made_again(tmp_path, pool, clean_run, victim):
    out = tmp_path / "out"
    assert crash_run("none:0", out, pool).returncode == 0
    lost = sorted((out / victim).glob("*.parquet"))[0]
    lost.unlink()
    r = crash_run("none:0", out, pool)
    assert r.returncode == 0, r.stderr
    assert lost.exists()
    got = snapshot(out)
    assert [k for k in got if got[k] != clean_run.get(k)] == []
