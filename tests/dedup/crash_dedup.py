"""``python -m tests.dedup.crash_dedup POINT:K OUT POOL...``: ``curate --dedup`` (t 3, seed 1,
one worker, 1,000-row batches, a 1 MiB dedup budget: several partitions) that SIGKILLs itself
the K-th time a task passes POINT (``dedup-keys-batch``, ``dedup-part``, ``dedup-unique``;
``none`` never)."""

from __future__ import annotations

import sys

from tests.dedup.test_dedup import METADATA
from tests.engine.crash import CrashAt


def main(argv: list[str]) -> int:
    from metacurate.api import run_curate
    from metacurate.config import BalanceConfig, EngineConfig, MatchConfig, RunConfig
    from metacurate.metadata import as_metadata

    spec, out, *pool = argv
    point, _, k = spec.partition(":")
    cfg = RunConfig(
        pool=tuple(pool),
        workdir=out,
        out=out,
        match=MatchConfig(batch_rows=1000, dedup=True, dedup_memory_mb=1),
        balance=BalanceConfig(t=3.0, seed=1),
        engine=EngineConfig(workers=1),
    )
    run_curate(cfg, as_metadata(METADATA), report=False, checkpoint=CrashAt(point, int(k or 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
