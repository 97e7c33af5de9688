"""Helpers for the fault-injection suite: a size-limited file system, the CLI in a subprocess,
and a small generated pool."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from metacurate.demo import make_sample
from metacurate.metadata import load_default_metadata

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """``metacurate ARGS`` in a fresh process (returncode, stdout, stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "metacurate.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def one_line_error(r: subprocess.CompletedProcess) -> str:
    """The error line of a failed run; fails the test on a traceback or another exit code."""
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("metacurate: error:")]
    assert len(lines) == 1, r.stderr
    return lines[0]


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``path`` (skips the test where this machine cannot mount)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)):
        if os.environ.get("METACURATE_REQUIRE_SYSTEM_DEPS") == "1":
            pytest.fail("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)")
        pytest.skip("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, options: str) -> None:
    assert _mount("-o", f"remount,{options}", str(path)), f"remount {options} failed"


@pytest.fixture(scope="session")
def metadata():
    return load_default_metadata()


@pytest.fixture(scope="session")
def pool(tmp_path_factory, metadata) -> Path:
    """A folder of four 1,500-row Parquet files."""
    d = tmp_path_factory.mktemp("pool")
    for i in range(4):
        make_sample(d / f"part-{i}.parquet", metadata, rows=1500, seed=20 + i)
    return d
