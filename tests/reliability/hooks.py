"""Checkpoint hooks for the fault tests, importable by spawned worker processes."""

from __future__ import annotations

import os
import signal
import sys
import time

from metacurate.api import run_curate
from metacurate.config import BalanceConfig, EngineConfig, MatchConfig, RunConfig


class KillWorker:
    """SIGKILL the worker (not the driver) at its first match batch, as the OOM killer would."""

    def __init__(self, driver: int) -> None:
        self.driver = driver

    def __call__(self, name: str) -> None:
        if name == "match-batch" and os.getpid() != self.driver:
            os.kill(os.getpid(), signal.SIGKILL)


class Park:
    """In a worker, write its pid to a file and sleep (so the test can kill the driver)."""

    def __init__(self, driver: int, pids: str) -> None:
        self.driver, self.pids = driver, pids

    def __call__(self, name: str) -> None:
        if os.getpid() != self.driver:
            with open(self.pids, "a") as f:
                f.write(f"{os.getpid()}\n")
            time.sleep(120)


def main(argv: list[str]) -> int:
    """``python -m tests.reliability.hooks kill|park spawn|fork PIDS OUT POOL...``: curate
    with the hook, with 2 workers (kill), or 3 (park: the driver and two started processes,
    both parked), the others spawned or forked."""
    kind, start_method, pids, out, *pool = argv
    cfg = RunConfig(
        pool=tuple(pool),
        workdir=out,
        out=out,
        match=MatchConfig(batch_rows=500),
        balance=BalanceConfig(t=20.0, seed=5),
        engine=EngineConfig(workers=3 if kind == "park" else 2, start_method=start_method),
    )
    hook = KillWorker(os.getpid()) if kind == "kill" else Park(os.getpid(), pids)
    try:
        run_curate(cfg, checkpoint=hook)
    except Exception as exc:
        print(f"metacurate: error: {exc}\n{type(exc).__name__}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
