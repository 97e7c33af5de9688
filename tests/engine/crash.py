"""Crash points for the kill-and-resume tests: a checkpoint hook handed to the engine.

``python -m tests.engine.crash POINT:K OUT POOL...`` runs ``curate`` as the CLI of
``test_resume.curate_cli`` would (t 20, seed 5, one worker, 1,000-row batches) and SIGKILLs
itself the K-th time a task or driver passes POINT (``match-batch``, ``count-file``,
``balance-batch``, ``balance-record``).
"""

from __future__ import annotations

import os
import signal
import sys


class CrashAt:
    """``checkpoint(name)``: SIGKILL this process the ``k``-th time ``name == point``."""

    def __init__(self, point: str, k: int) -> None:
        self.point, self.k, self.passed = point, k, 0

    def __call__(self, name: str) -> None:
        if name != self.point:
            return
        self.passed += 1
        if self.passed == self.k:
            os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    from metacurate.api import run_curate
    from metacurate.config import BalanceConfig, EngineConfig, MatchConfig, RunConfig

    spec, out, *pool = argv
    point, _, k = spec.partition(":")
    cfg = RunConfig(
        pool=tuple(pool),
        workdir=out,
        out=out,
        match=MatchConfig(batch_rows=1000),
        balance=BalanceConfig(t=20.0, seed=5),
        engine=EngineConfig(workers=1),
    )
    run_curate(cfg, checkpoint=CrashAt(point, int(k or 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
