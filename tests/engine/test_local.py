"""The local engine's processes: forked when asked for and safe, spawned otherwise."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from metacurate.config import ConfigError, EngineConfig
from metacurate.engine import no_checkpoint
from metacurate.engine.local import LocalEngine, start_method

#: Set in the test process before its workers start: a forked worker sees it, a spawned one
#: (a fresh interpreter that imports this module again) sees 0.
MARK = 0

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork: Linux only")


def _mark_and_pid(item: int, checkpoint) -> tuple[int, int]:
    import time

    time.sleep(0.05)  # so the started processes get some of the items
    return sys.modules[__name__].MARK, os.getpid()


def _run(method: str) -> tuple[set, dict]:
    engine = LocalEngine(2, no_checkpoint, method)
    engine.warm(6)
    try:
        got = set(engine.map(_mark_and_pid, list(range(6))))
    finally:
        engine.close()
    others = {mark for mark, pid in got if pid != os.getpid()}
    return others, engine.describe()


@pytest.fixture
def marked(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "MARK", 7)


@linux_only
def test_forked_workers_are_copies_of_this_process(marked):
    others, described = _run("fork")
    assert others == {7}  # the other process ran tasks, and had this process's state
    assert described == {"kind": "local", "workers": 2, "start_method": "fork"}


def test_spawned_workers_start_afresh(marked):
    others, described = _run("spawn")
    assert others == {0}
    assert described["start_method"] == "spawn"


@linux_only
def test_no_fork_while_another_thread_runs(marked):
    """A fork copies only the calling thread: with another one alive, the engine spawns."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert start_method("fork") == "spawn"
        others, described = _run("fork")
    finally:
        stop.set()
        other.join()
    assert others == {0} and described["start_method"] == "spawn"


def test_start_method_is_checked():
    with pytest.raises(ConfigError, match="start_method"):
        EngineConfig(start_method="forkserver").check()


def test_cli_forks_on_linux_only():
    from metacurate.cli_flags import default_start_method

    assert default_start_method() == ("fork" if sys.platform.startswith("linux") else "spawn")
