"""Shared test helpers: where the read-only sample data lives, and the naive reference."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Shared, noisy machines: no per-example deadline (speed is measured by benchmarks/).
settings.register_profile("metacurate", deadline=None)
settings.load_profile("metacurate")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _index_cache(tmp_path_factory):
    """Matcher indexes go to a temporary cache, never the user's ~/.cache (subprocesses
    inherit the variable)."""
    old = os.environ.get("METACURATE_CACHE")
    os.environ["METACURATE_CACHE"] = str(tmp_path_factory.mktemp("metacurate-cache"))
    yield
    if old is None:
        os.environ.pop("METACURATE_CACHE", None)
    else:
        os.environ["METACURATE_CACHE"] = old


def shared_dir() -> Path | None:
    """``$METACURATE_SHARED`` or ``../shared`` beside the repo; None when absent."""
    d = Path(os.environ.get("METACURATE_SHARED", REPO.parent / "shared"))
    return d if (d / "data").is_dir() else None


def shared_file(rel: str) -> Path:
    """A file of the shared data folder, or skip the test when the folder is absent."""
    d = shared_dir()
    if d is None or not (d / "data" / rel).exists():
        pytest.skip(f"shared data {rel} not present (set METACURATE_SHARED)")
    return d / "data" / rel


def oracle_size(every_run: int, full: int) -> int:
    """How many inputs an oracle test (a naive loop over real data) checks: a sample of
    ``every_run`` in every run, ``full`` under ``METACURATE_FULL_ORACLE=1`` (the long job that
    a benchmark-like run does by hand: ``METACURATE_FULL_ORACLE=1 python -m pytest -m slow``)."""
    return full if os.environ.get("METACURATE_FULL_ORACLE") == "1" else every_run


def require_system(what: str, present: bool) -> None:
    """Skip when a system package is missing, or fail under METACURATE_REQUIRE_SYSTEM_DEPS=1."""
    if present:
        return
    if os.environ.get("METACURATE_REQUIRE_SYSTEM_DEPS") == "1":
        pytest.fail(f"{what} is required here (METACURATE_REQUIRE_SYSTEM_DEPS=1) but missing")
    pytest.skip(f"{what} not installed")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the cores. Much of the suite waits on subprocesses,
    Ray clusters, Slurm and timeouts (with one worker per core, 2 cores were ~55% busy); on
    2 cores a third worker took the suite from 471 s to 426 s."""
    return (os.cpu_count() or 1) + 1


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` run first (a stable sort), so a parallel run spreads them over
    its workers at the start instead of ending on one of them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
