"""The Python API: ``match_pool``, ``balance_workdir`` and ``curate``.

Each takes the same :class:`~metacurate.config.RunConfig` the CLI builds (``config=``), and
keyword shortcuts for its fields (``t=50``, ``workers=2``, ``text_column="TEXT"``,
``engine="ray"``), which override the config's. Errors name parameters, not flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from metacurate.balance.driver import check_before_writing, run_balance
from metacurate.config import BalanceConfig, ConfigError, RunConfig, with_shortcuts
from metacurate.engine import Checkpoint, Engine, open_engine
from metacurate.errors import MetacurateError
from metacurate.kernel import require_native
from metacurate.lock import output_locks
from metacurate.match.ahead import Ahead
from metacurate.match.driver import plan_sources, run_match
from metacurate.match.index_cache import cache_root
from metacurate.match.worldwide_run import run_metadata
from metacurate.metadata import Metadata, as_metadata
from metacurate.metadata.worldwide import WorldwideMetadata

#: What the stages' tasks import: local worker processes started ahead import it meanwhile
#: (``LocalEngine.warm``; spawned, ~0.3 s of CPU each: engine/startup.py's step 7).
MATCH_TASKS = ("metacurate.match.task",)
CURATE_TASKS = (*MATCH_TASKS, "metacurate.balance.task")


def _paths(pool: str | Path | Sequence[str | Path] | None) -> tuple[str, ...] | None:
    if pool is None:
        return None
    if isinstance(pool, (str, Path)):
        return (str(pool),)
    return tuple(str(p) for p in pool)


def build_config(
    config: RunConfig | None,
    *,
    pool: Any = None,
    workdir: str | Path | None = None,
    out: str | Path | None = None,
    options: dict[str, Any],
) -> tuple[RunConfig, Metadata | WorldwideMetadata | None]:
    """``config`` (or a default one) with the paths and keyword shortcuts applied; a
    ``Metadata`` or list given as ``metadata=`` is returned apart (the config keeps its name)."""
    cfg = config or RunConfig()
    metadata = options.pop("metadata", cfg.match.metadata)
    given = None
    if isinstance(metadata, WorldwideMetadata):  # metaclip2 modes: one list per language
        given, metadata = metadata, metadata.name
    elif metadata is not None and not isinstance(metadata, (str, Path)):
        given = as_metadata(metadata)
        metadata = given.name
    elif metadata is not None:
        metadata = str(metadata)
    cfg = with_shortcuts(cfg, {**options, "metadata": metadata})
    paths = _paths(pool)
    cfg = replace(
        cfg,
        pool=paths if paths is not None else cfg.pool,
        workdir=str(workdir) if workdir is not None else cfg.workdir,
        out=str(out) if out is not None else cfg.out,
    )
    return cfg, given


def _need(cfg: RunConfig, *names: str) -> None:
    for name in names:
        if not getattr(cfg, name):
            raise ConfigError(name, f"is required (pass {name}=...)")


def _plan(cfg: RunConfig) -> tuple[list, list[str]]:
    """The pool's inputs and the files of its folders not read, found before any output
    folder is made (a mistake in the pool leaves nothing behind)."""
    skipped: list[str] = []
    return plan_sources(cfg, skipped), skipped


def _run_match(
    cfg: RunConfig,
    metadata: Metadata | WorldwideMetadata | None,
    engine: Engine,
    ahead: Ahead | None = None,
    planned: tuple[list, list[str]] | None = None,
) -> dict:
    sources, skipped = planned if planned is not None else _plan(cfg)
    if ahead is not None:  # loaded, its index readied, while the CLI started
        return run_match(cfg, ahead.metadata(), engine, sources, ahead, skipped)
    engine.warm(len(sources))  # worker processes start while the metadata loads (startup step 7)
    cache = cache_root(cfg.engine.index_cache)
    return run_match(
        cfg, run_metadata(cfg.match, cache, metadata), engine, sources, skipped=skipped
    )


def match_pool(
    pool: Any = None,
    out: str | Path | None = None,
    *,
    config: RunConfig | None = None,
    checkpoint: Checkpoint | None = None,
    **options: Any,
) -> dict:
    """Match every caption of ``pool`` (files, folders, globs) into ``out``: side-cars,
    ``entry_counts.parquet``, ``stats.json``. Finished files are skipped. Returns the stats."""
    cfg, md = build_config(config, pool=pool, workdir=out, out=out, options=options)
    _need(cfg, "pool", "workdir")
    cfg.check()
    require_native()
    planned = _plan(cfg)
    with output_locks(cfg.workdir):
        engine = open_engine(cfg.engine, checkpoint, MATCH_TASKS)
        try:
            return _run_match(cfg, md, engine, planned=planned)
        finally:
            engine.close()


def balance_workdir(
    workdir: str | Path | None = None,
    out: str | Path | None = None,
    *,
    config: RunConfig | None = None,
    checkpoint: Checkpoint | None = None,
    **options: Any,
) -> dict:
    """Balance a matched ``workdir`` into ``out`` (default: ``workdir``) with one of ``t``,
    ``target_size``, ``tail_share`` (and ``seed``, ``epoch``, ``image_column``). Returns the
    manifest."""
    cfg, _ = build_config(config, workdir=workdir, out=out or workdir, options=options)
    if not cfg.out:
        cfg = replace(cfg, out=cfg.workdir)
    _need(cfg, "workdir")
    if cfg.balance is None:
        raise ConfigError("t", "give exactly one of t, target_size, tail_share")
    cfg.check()
    require_native()
    check_before_writing(cfg)  # a typo or --out holding the pool: nothing made
    with output_locks(cfg.workdir, cfg.out):
        engine = open_engine(cfg.engine, checkpoint)  # balance warms no processes
        try:
            return run_balance(cfg, engine)
        finally:
            engine.close()


def curate(
    pool: Any = None,
    out: str | Path | None = None,
    *,
    config: RunConfig | None = None,
    report: bool = True,
    checkpoint: Checkpoint | None = None,
    **options: Any,
) -> dict:
    """The main job, as ``metacurate curate``: match + count + balance ``pool`` into ``out``
    (side-cars already there are reused), then ``report.html``. Returns the manifest, with
    the match stats under ``"match"``."""
    cfg, md = build_config(config, pool=pool, workdir=out, out=out, options=options)
    if cfg.out and not cfg.workdir:
        cfg = replace(cfg, workdir=cfg.out)
    _need(cfg, "pool", "out")
    return run_curate(replace(cfg, workdir=cfg.out), md, report, checkpoint)


def run_curate(
    cfg: RunConfig,
    metadata: Metadata | None = None,
    report: bool = True,
    checkpoint: Checkpoint | None = None,
    ahead: Ahead | None = None,
) -> dict:
    """``curate`` for a complete config (what the CLI calls; ``ahead``: the metadata and its
    index made ready meanwhile, match/ahead.py)."""
    if cfg.balance is None:
        cfg = replace(cfg, balance=BalanceConfig())  # check() names the missing option
    cfg.check()
    require_native()
    planned = _plan(cfg)
    with output_locks(cfg.workdir, cfg.out):
        engine = open_engine(cfg.engine, checkpoint, CURATE_TASKS)
        try:
            stats = _run_match(cfg, metadata, engine, ahead, planned)
            manifest = run_balance(cfg, engine, match_stats=stats)
            if report:  # while the engine is open: its idle process makes part of it
                from metacurate.report import write_report

                write_report(cfg.out, s3_endpoint=cfg.engine.s3_endpoint, submit=engine.submit)
        finally:
            engine.close()
    return manifest


__all__ = [
    "MetacurateError",
    "balance_workdir",
    "build_config",
    "curate",
    "match_pool",
    "run_curate",
]
