"""Crash points on an object store: ``python -m tests.storage.crash_s3 POINT:K ENDPOINT OUT
POOL...`` runs ``curate`` from the pool to the output folder (``s3://`` URIs) through the S3
server at ENDPOINT, as ``test_s3.curate_s3`` does (t 20, seed 5, one worker, 1,000-row
batches), and SIGKILLs itself the K-th time a task or driver passes POINT (the hook of
``tests/engine/crash.py``)."""

from __future__ import annotations

import sys

from tests.engine.crash import CrashAt


def main(argv: list[str]) -> int:
    from metacurate.api import run_curate
    from metacurate.config import BalanceConfig, EngineConfig, MatchConfig, RunConfig

    spec, endpoint, out, *pool = argv
    point, _, k = spec.partition(":")
    cfg = RunConfig(
        pool=tuple(pool),
        workdir=out,
        out=out,
        match=MatchConfig(batch_rows=1000),
        balance=BalanceConfig(t=20.0, seed=5),
        engine=EngineConfig(workers=1, s3_endpoint=endpoint),
    )
    run_curate(cfg, checkpoint=CrashAt(point, int(k or 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
