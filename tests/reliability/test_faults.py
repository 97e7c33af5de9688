"""Fault injection: each fault stops the run with one line and exit 2, loses nothing, and the
rerun with the fault removed gives outputs byte-identical to a clean run (issue 11, items 1,
2, 5 and 7)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metacurate.lock import LOCK_NAME, output_lock
from tests.engine.test_resume import snapshot
from tests.reliability.conftest import REPO, cli, one_line_error, remount, tmpfs

ARGS = ("--t", "20", "--seed", "5", "--workers", "1", "--batch-rows", "500")


@pytest.fixture(scope="module")
def clean(tmp_path_factory, pool) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("clean") / "out"
    r = cli("curate", pool, "--out", out, *ARGS)
    assert r.returncode == 0, r.stderr
    return snapshot(out)


def _same(out: Path, clean: dict[str, bytes]) -> None:
    got = snapshot(out)
    assert sorted(got) == sorted(clean)
    assert [k for k in got if got[k] != clean[k]] == []


def test_disk_full_with_skip_bad_files_loses_no_input(tmp_path, pool, clean):
    """Item 1: ENOSPC during match was recorded as bad inputs and never retried."""
    with tmpfs(tmp_path / "small", "1m") as mnt:
        out = mnt / "out"
        r = cli("curate", pool, "--out", out, "--skip-bad-files", *ARGS)
        line = one_line_error(r)
        assert "no space left" in line and "cannot read" not in line
        assert not list((out / "matches").glob("*.skipped.json"))
        remount(mnt, "size=64m")  # space freed; the rerun is the clean run's command
        r = cli("curate", pool, "--out", out, *ARGS)
        assert r.returncode == 0, r.stderr
        _same(out, clean)


def test_read_only_output_folder(tmp_path, pool, clean):
    with tmpfs(tmp_path / "ro", "64m") as mnt:
        remount(mnt, "ro")
        line = one_line_error(cli("curate", pool, "--out", mnt / "out", *ARGS))
        assert "read-only" in line and str(mnt) in line
        remount(mnt, "rw")
        r = cli("curate", pool, "--out", mnt / "out", *ARGS)
        assert r.returncode == 0, r.stderr
        _same(mnt / "out", clean)


def test_out_is_a_regular_file(tmp_path, pool):
    f = tmp_path / "out"
    f.write_text("not a folder")
    assert "is a file, not a folder" in one_line_error(cli("curate", pool, "--out", f, *ARGS))
    assert f.read_text() == "not a folder"


def test_disk_full_while_balancing(tmp_path, pool, clean):
    """Item 5: disk full after matching (the balance stage) is one line and exit 2."""
    with tmpfs(tmp_path / "bal", "64m") as mnt:
        work = mnt / "out"
        r = cli("match", pool, "--out", work, "--workers", "1", "--batch-rows", "500")
        assert r.returncode == 0, r.stderr
        filler = mnt / "filler"
        free = shutil.disk_usage(mnt).free
        filler.write_bytes(b"\0" * max(0, free - 64 * 1024))
        line = one_line_error(
            cli("balance", work, "--out", work, "--t", "20", "--seed", "5", "--workers", "1")
        )
        assert "no space left" in line
        filler.unlink()
        r = cli("curate", pool, "--out", work, *ARGS)
        assert r.returncode == 0, r.stderr
        _same(work, clean)


def test_concurrent_run_is_refused_and_a_stale_lock_taken_over(tmp_path, pool, clean):
    """Item 2: two runs into one folder; a lock left by a dead process."""
    out = tmp_path / "out"
    with output_lock(out):
        line = one_line_error(cli("curate", pool, "--out", out, *ARGS))
        assert "another metacurate run" in line and f"pid {os.getpid()}" in line
    (out / LOCK_NAME).write_text(json.dumps({"pid": 999_999_999, "host": "gone"}))
    r = cli("curate", pool, "--out", out, *ARGS)
    assert r.returncode == 0, r.stderr
    assert "taking over the lock" in r.stderr
    _same(out, clean)


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_killed_worker_is_one_line_and_resumes(tmp_path, pool, clean, start_method):
    out = tmp_path / "out"
    files = sorted(str(p) for p in pool.glob("*.parquet"))
    r = subprocess.run(
        [sys.executable, "-m", "tests.reliability.hooks", "kill", start_method, "-", str(out)]
        + files,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert r.returncode == 2 and "EnvironmentFault" in r.stderr, r.stderr
    assert "worker process died" in r.stderr and "fewer --workers" in r.stderr
    r = cli("curate", pool, "--out", out, *ARGS)
    assert r.returncode == 0, r.stderr
    _same(out, clean)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_workers_die_with_a_killed_driver(tmp_path, pool, start_method):
    """Item 7: after SIGKILL of the driver, spawned workers kept running and writing."""
    pids = tmp_path / "pids"
    files = sorted(str(p) for p in pool.glob("*.parquet"))
    driver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.reliability.hooks",
            "park",
            start_method,
            str(pids),
            str(tmp_path / "o"),
            *files,
        ],
        cwd=REPO,
        stderr=(tmp_path / "stderr").open("w"),
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(set(_read(pids))) < 2:
        if "capped at" in (tmp_path / "stderr").read_text():
            driver.kill()
            driver.wait()
            pytest.skip("too little memory available here for the two worker processes")
        time.sleep(0.2)
    workers = sorted(set(_read(pids)))
    assert len(workers) == 2, "the workers never reached a checkpoint"
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)]


def _read(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_truncated_or_missing_index_files_are_rebuilt(tmp_path, pool, clean):
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert cli("curate", pool, "--out", out, "--index-cache", cache, *ARGS).returncode == 0
    (index,) = [p for p in (cache / "index").iterdir() if p.is_dir()]
    slots = index / "slots.npy"
    slots.write_bytes(slots.read_bytes()[:1000])  # truncated
    (index / "ids.npy").unlink()  # missing
    for p in (out / "matches").glob("*.done.json"):
        p.unlink()  # force a rematch through the index
    r = cli("curate", pool, "--out", out, "--index-cache", cache, *ARGS)
    assert r.returncode == 0, r.stderr
    # the message names the first damaged table it meets (which one: the loader's order)
    assert "rebuilding" in r.stderr
    assert "ids.npy is missing" in r.stderr or "slots.npy: cannot read" in r.stderr, r.stderr
    _same(out, clean)
