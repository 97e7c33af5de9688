"""The Ray engine on a cluster started as users start one (``ray start --head``): relative
paths, ``RAY_ADDRESS``, and a cluster failing under a run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.ray_head import ray_head
from tests.engine.test_resume import snapshot
from tests.reliability.conftest import REPO

ARGS = ("--t", "20", "--seed", "5", "--batch-rows", "500")


def _cli(*args, cwd, env=None, timeout=600) -> subprocess.CompletedProcess:
    paths = [os.environ.get("PYTHONPATH", ""), str(REPO)]
    full = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    full.pop("RAY_ADDRESS", None)
    return subprocess.run(
        [sys.executable, "-m", "metacurate.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env={**full, **(env or {})}, timeout=timeout,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pool_dir(pool) -> Path:
    """The folder of the engine tests' pool files."""
    return Path(pool[0]).parent


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    with ray_head(tmp_path_factory.mktemp("raylet_cwd")) as h:
        yield h


def _same(out, clean) -> None:
    got = snapshot(out)
    assert sorted(got) == sorted(clean)
    assert [k for k in got if got[k] != clean[k] and k != "manifest.json"] == []


@pytest.mark.slow
def test_relative_paths_with_a_ray_address(tmp_path, pool_dir, head):
    """Item 12: workers resolved relative paths against the raylet's working folder: side-cars
    landed elsewhere and the run failed with "No such file or directory"."""
    (tmp_path / "pool").symlink_to(pool_dir)
    r = _cli("curate", "pool", "--out", "local", "--workers", "1", *ARGS, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    r = _cli(
        "curate", "pool", "--out", "out", "--engine", "ray", "--ray-address", head.address,
        *ARGS, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert not (head.cwd / "out").exists()
    _same(tmp_path / "out", snapshot(tmp_path / "local"))


@pytest.mark.slow
def test_ray_address_from_the_environment(tmp_path, pool_dir, head):
    """Item 13: RAY_ADDRESS without --ray-address (as under 'ray job submit') failed with a
    message telling to leave out --ray-address."""
    r = _cli(
        "curate", pool_dir, "--out", tmp_path / "o", "--engine", "ray", *ARGS,
        cwd=tmp_path, env={"RAY_ADDRESS": head.address},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert "2 CPUs on 1 node" in r.stderr


def test_nothing_at_ray_address_in_the_environment_is_one_line(tmp_path, pool_dir):
    r = _cli(
        "curate", pool_dir, "--out", tmp_path / "o", "--engine", "ray", *ARGS,
        cwd=tmp_path, env={"RAY_ADDRESS": "127.0.0.1:9"}, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("metacurate: error:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "RAY_ADDRESS 127.0.0.1:9" in lines[0] and "leave out --ray-address" not in lines[0]


@pytest.mark.slow
def test_a_token_auth_refusal_is_named(tmp_path, pool_dir):
    """Item 13: a token-authentication failure was reported as "cannot connect ... start one
    with ray start --head"."""
    (tmp_path / "cwd2").mkdir()
    with ray_head(tmp_path / "cwd2", token=True) as h:
        r = _cli(
            "curate", pool_dir, "--out", tmp_path / "o", "--engine", "ray",
            "--ray-address", h.address, *ARGS, cwd=tmp_path, env={"RAY_AUTH_MODE": "disabled"},
        )  # fmt: skip
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("metacurate: error:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "token authentication" in lines[0] and "ray start --head" not in lines[0]
