"""The Slurm engine on a real Slurm (CI starts a single-node one: .ci/slurm.sh): the local
engine's bytes, a cancelled element retried alone, time and memory kills named by task."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from metacurate import MetacurateError
from metacurate.api import curate
from tests.conftest import REPO, require_system
from tests.engine.slurm_hooks import HogInElement, SleepInElement
from tests.engine.test_resume import snapshot


def _slurm_up() -> bool:
    if shutil.which("sbatch") is None:
        return False
    done = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    return done.returncode == 0 and any(
        s.strip("*~#") in ("idle", "mix", "alloc") for s in done.stdout.split()
    )


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A Slurm cluster answering here (skip, or fail in CI, without one); the tasks find
    this repo's tests (the hooks) through PYTHONPATH, which sbatch exports."""
    import importlib.util

    require_system(
        "submitit (pip install 'metacurate[slurm]')",
        importlib.util.find_spec("submitit") is not None,
    )
    require_system("a Slurm cluster (sbatch; start one with: bash .ci/slurm.sh start)", _slurm_up())
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), str(REPO), old) if p)
    yield tmp_path_factory.mktemp("slurm-logs")
    if old is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old


OPTIONS = {"report": False, "batch_rows": 1000, "t": 20.0, "seed": 5}


class Run(threading.Thread):
    """``curate(*args, **kwargs)`` in a thread; what it raised in ``errors``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(daemon=True)
        self.args, self.kwargs, self.errors = args, kwargs, []

    def run(self) -> None:
        try:
            curate(*self.args, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.errors.append(exc)


@pytest.fixture(scope="module")
def time_limit_run(tmp_path_factory, pool, metadata, slurm) -> Run:
    """A curate whose element 1 sleeps past its 1-minute limit; Slurm ends it 60-90 s after
    it starts, so it is started by the first test and waited for by the last (the others run
    meanwhile)."""
    run = Run(
        pool[:2], tmp_path_factory.mktemp("time-limit") / "out", metadata=metadata,
        engine="slurm", slurm_time=1, slurm_log_dir=str(slurm),
        checkpoint=SleepInElement(1, 600), **OPTIONS,
    )  # fmt: skip
    run.start()
    return run


@pytest.fixture(scope="module")
def local_api_bytes(tmp_path_factory, pool, metadata) -> dict[str, bytes]:
    """What the local engine writes, through the Python API."""
    out = tmp_path_factory.mktemp("local-api") / "out"
    curate(pool, out, metadata=metadata, workers=1, **OPTIONS)
    return snapshot(out)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "metacurate.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ.copy(),
    )


@pytest.mark.slow
def test_slurm_curate_writes_the_local_engines_bytes(tmp_path, pool, slurm, time_limit_run):
    flags = ["--t", "20", "--seed", "5", "--batch-rows", "1000"]
    local = _cli("curate", *pool, "--out", str(tmp_path / "local"), *flags, "--workers", "2")
    assert local.returncode == 0, local.stderr
    out = tmp_path / "out"
    r = _cli(
        "curate", *pool, "--out", str(out), *flags,
        "--engine", "slurm", "--slurm-log-dir", str(slurm), "--slurm-time", "5",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert snapshot(out) == snapshot(tmp_path / "local")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["engine"]["kind"] == "slurm"
    assert manifest["engine"]["tasks"] == 2 * len(pool)  # match and balance, on the cluster
    assert len(manifest["engine"]["arrays"]) == 2
    assert f"{len(pool)} tasks submitted" in r.stderr  # a line per array: match, balance


def _element_state(array_id: str, element: int) -> str:
    done = subprocess.run(
        ["squeue", "-h", "-r", "-t", "all", "-j", array_id, "-o", "%i|%T"],
        capture_output=True,
        text=True,
    )
    states = dict(line.split("|") for line in done.stdout.split())
    return states.get(f"{array_id}_{element}", "")


def _newest_array(after: float, log_dir: Path) -> str | None:
    scripts = [p for p in log_dir.glob("*/*_submission.sh") if p.stat().st_mtime >= after]
    if not scripts:
        return None
    return max(scripts, key=lambda p: p.stat().st_mtime).name.split("_")[0]


@pytest.mark.slow
def test_scancel_of_one_element_then_a_rerun_retries_only_it(
    tmp_path, pool, metadata, local_api_bytes, slurm
):
    out, logs = tmp_path / "out", tmp_path / "logs"
    runner = Run(
        pool, out, metadata=metadata, engine="slurm", slurm_log_dir=str(logs),
        checkpoint=SleepInElement(1, 600), **OPTIONS,
    )  # fmt: skip
    started = time.time()
    runner.start()
    deadline = started + 120
    array = None
    while time.time() < deadline:  # element 1 sleeps in its task: cancel it while it runs
        array = array or (logs.is_dir() and _newest_array(started - 1, logs)) or None
        if array and _element_state(array, 1) == "RUNNING":
            subprocess.run(["scancel", f"{array}_1"], check=True)
            break
        time.sleep(0.2)
    else:
        pytest.fail("element 1 never ran")
    runner.join(300)
    assert not runner.is_alive()
    errors = runner.errors
    assert len(errors) == 1 and isinstance(errors[0], MetacurateError), errors
    message = str(errors[0])
    assert "\n" not in message
    assert f"1 of {len(pool)} tasks did not finish" in message
    assert f"(Slurm job {array}_1) was cancelled" in message
    assert "match_task part-1-" in message  # the task, by name

    stats = curate(pool, out, metadata=metadata, engine="slurm", slurm_log_dir=str(logs), **OPTIONS)
    assert stats["match"]["files_matched_now"] == 1  # only the cancelled task ran again
    assert snapshot(out) == local_api_bytes


@pytest.mark.slow
def test_a_task_over_its_memory_is_named_with_the_limit(tmp_path, pool, metadata, slurm):
    with pytest.raises(MetacurateError) as caught:
        curate(
            pool[:2], tmp_path / "out", metadata=metadata, engine="slurm", slurm_mem="200M",
            slurm_log_dir=str(slurm), checkpoint=HogInElement(1, 600, 10), **OPTIONS,
        )  # fmt: skip
    message = str(caught.value)
    assert "\n" not in message
    assert "1 of 2 tasks did not finish: match_task part-1-" in message
    assert "was killed for using more memory than its limit (200M): raise --slurm-mem" in message


def test_an_unknown_partition_is_one_line(tmp_path, pool, slurm):
    r = _cli(
        "match", pool[0], "--out", str(tmp_path / "out"), "--engine", "slurm",
        "--slurm-partition", "nosuch", "--slurm-log-dir", str(slurm),
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "--slurm-partition nosuch: Slurm has no such partition (sinfo lists: " in r.stderr


def test_a_log_folder_the_tasks_cannot_write_is_named(tmp_path, pool, slurm):
    """The tasks run as another user (root may submit so): they cannot write the log folder,
    as on a cluster whose nodes do not mount it."""
    logs = tmp_path / "logs"
    r = _cli(
        "match", pool[0], "--out", str(tmp_path / "out"), "--engine", "slurm",
        "--slurm-log-dir", str(logs), "--slurm-sbatch=--uid=nobody",
    )  # fmt: skip
    if "--uid" in r.stderr and "refused" in r.stderr:
        pytest.skip("this Slurm refuses --uid (not root)")
    assert r.returncode == 2, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert f"without writing its log to {logs}/" in last
    assert "the compute nodes cannot see or write that folder" in last


@pytest.mark.slow
def test_a_task_over_its_time_limit_is_named_in_one_line(time_limit_run):
    time_limit_run.join(300)
    assert not time_limit_run.is_alive()
    assert len(time_limit_run.errors) == 1, time_limit_run.errors
    error = time_limit_run.errors[0]
    assert isinstance(error, MetacurateError), error
    message = str(error)
    assert "\n" not in message
    assert "1 of 2 tasks did not finish: match_task part-1-" in message
    assert "was killed at its time limit (1 min): raise --slurm-time" in message


@pytest.mark.slow
def test_an_interrupted_driver_cancels_its_array(tmp_path, pool, slurm):
    logs, out = tmp_path / "logs", tmp_path / "out"
    code = (
        "from metacurate.api import curate\n"
        "from tests.engine.slurm_hooks import SleepInElement\n"
        f"curate({pool[:2]!r}, {str(out)!r}, engine='slurm', slurm_log_dir={str(logs)!r}, "
        "checkpoint=SleepInElement(0, 600), report=False, t=20.0)\n"
    )
    started = time.time()
    driver = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stderr=subprocess.PIPE)
    array = None
    while time.time() < started + 120:
        array = array or (logs.is_dir() and _newest_array(started - 1, logs)) or None
        if array and _element_state(array, 0) == "RUNNING":
            break
        time.sleep(0.2)
    else:
        driver.kill()
        pytest.fail("element 0 never ran")
    driver.send_signal(signal.SIGINT)
    driver.communicate(timeout=60)
    assert driver.returncode != 0
    deadline = time.time() + 30
    while _element_state(array, 0) not in ("CANCELLED", "") and time.time() < deadline:
        time.sleep(0.2)
    assert _element_state(array, 0) == "CANCELLED"


@pytest.mark.slow
def test_slurm_extract_writes_the_local_engines_bytes(tmp_path, slurm):
    from tests.conftest import shared_file

    files = [
        str(shared_file(f"webarchive/{name}"))
        for name in ("pages_16.warc.gz", "whirlwind.warc.gz", "link-extraction-test.warc")
    ]
    local = _cli("extract", *files, "--out", str(tmp_path / "local"), "--shard-rows", "10")
    assert local.returncode == 0, local.stderr
    r = _cli(
        "extract", *files, "--out", str(tmp_path / "slurm"), "--shard-rows", "10",
        "--engine", "slurm", "--slurm-log-dir", str(slurm),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "3 tasks submitted" in r.stderr
    local_files = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*"))
    slurm_files = sorted(p.relative_to(tmp_path / "slurm") for p in (tmp_path / "slurm").rglob("*"))
    assert local_files == slurm_files
    assert len(local_files) > 3  # shards of 10 rows (42 in all), the stats file, the parts
    for rel in local_files:
        if (tmp_path / "local" / rel).is_file():
            a, b = (tmp_path / "local" / rel).read_bytes(), (tmp_path / "slurm" / rel).read_bytes()
            assert a == b, rel


@pytest.mark.slow
def test_several_failed_elements_are_all_named(tmp_path, pool, metadata, slurm):
    logs = tmp_path / "logs"
    runner = Run(
        pool[:3], tmp_path / "out", metadata=metadata, engine="slurm", slurm_log_dir=str(logs),
        checkpoint=SleepInElement((1, 2), 600), **OPTIONS,
    )  # fmt: skip
    started = time.time()
    runner.start()
    array = None
    while time.time() < started + 120:
        array = array or (logs.is_dir() and _newest_array(started - 1, logs)) or None
        if array and _element_state(array, 1) == "RUNNING":
            subprocess.run(["scancel", f"{array}_1", f"{array}_2"], check=True)
            break
        time.sleep(0.2)
    else:
        pytest.fail("element 1 never ran")
    runner.join(120)
    assert len(runner.errors) == 1, runner.errors
    message = str(runner.errors[0])
    assert "\n" not in message
    assert "2 of 3 tasks did not finish: match_task part-" in message
    assert message.count(f"(Slurm job {array}_") == 2  # both, by task and job
    assert (
        "; also match_task part-" in message and "rerun the same command to retry them" in message
    )
