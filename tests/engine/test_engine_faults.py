"""Engines under worker failures: a retry here or one line, never a traceback."""

from __future__ import annotations

import os
import signal
import time

from metacurate.engine import no_checkpoint
from metacurate.engine.local import LocalEngine


def _pid(item, checkpoint):
    return os.getpid()


def _square(x: int) -> int:
    return x * x


def test_submit_after_an_idle_worker_died_runs_here():
    """Item 10: a worker that died while idle after the balance stage: BrokenProcessPool
    from LocalEngine.submit (the report's explorer), exit 1 with a traceback."""
    engine = LocalEngine(2, no_checkpoint, "spawn")
    try:
        pids = set(engine.map(_pid, list(range(8))))
        others = [p for p in pids if p != os.getpid()] or [
            p.pid for p in engine._pool._processes.values()
        ]
        for pid in others:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not engine._pool._broken:
            time.sleep(0.05)
        assert engine.submit(_square, 7)() == 49
    finally:
        engine.close()
