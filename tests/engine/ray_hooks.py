"""``python -m tests.engine.ray_hooks ADDRESS OUT POOL...``: curate on the Ray cluster at
ADDRESS with tasks slowed down (so a test can strike while they run) and a 30 s stall limit,
ending as the CLI ends: one line and exit 2 for a user or environment error, 130 on Ctrl-C."""

from __future__ import annotations

import faulthandler
import os
import sys

from metacurate.api import run_curate
from metacurate.config import BalanceConfig, EngineConfig, MatchConfig, RunConfig
from metacurate.errors import MetacurateError
from tests.engine.ray_cluster import Pause


def main(argv: list[str]) -> int:
    address, out, *pool = argv
    faulthandler.dump_traceback_later(100)  # where a hung driver waits, for the test's report
    cfg = RunConfig(
        pool=tuple(pool),
        workdir=out,
        out=out,
        match=MatchConfig(batch_rows=500),
        balance=BalanceConfig(t=20.0, seed=5),
        engine=EngineConfig(kind="ray", ray_address=address, stall_seconds=30.0),
    )
    try:
        run_curate(cfg, report=False, checkpoint=Pause(0.5))
    except MetacurateError as exc:
        print(f"metacurate: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("metacurate: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stderr.flush()
    os._exit(code)  # as the CLI does (cli.run): no teardown waiting on a dead cluster
