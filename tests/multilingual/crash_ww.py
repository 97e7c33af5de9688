"""``python -m tests.multilingual.crash_ww POINT:K OUT METADATA_DIR POOL...``: ``curate`` in mode
metaclip2 as ``test_curate_worldwide.run`` does (one worker), SIGKILLed the K-th time a task or
the driver passes POINT (see tests/engine/crash.py)."""

from __future__ import annotations

import sys

from tests.engine.crash import CrashAt


def main(argv: list[str]) -> int:
    from metacurate.api import run_curate
    from metacurate.config import BalanceConfig, EngineConfig, MatchConfig, RunConfig

    spec, out, md, *pool = argv
    point, _, k = spec.partition(":")
    cfg = RunConfig(
        pool=tuple(pool),
        workdir=out,
        out=out,
        match=MatchConfig(metadata=md, mode="metaclip2", lang_column="lang", batch_rows=300),
        balance=BalanceConfig(t=6.0, seed=3),
        engine=EngineConfig(workers=1),
    )
    run_curate(cfg, report=False, checkpoint=CrashAt(point, int(k or 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
