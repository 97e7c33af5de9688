"""The stages wired together: ``match_pool`` (match + count). Engines only schedule tasks."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from tqdm import tqdm

from metacurate._version import __version__
from metacurate.count import add_sparse, entry_counts_table
from metacurate.engine import Engine, engine_for
from metacurate.engine.tasks import MatchSpec, MatchTask, empty_stats, fingerprint, match_task
from metacurate.errors import MetacurateError
from metacurate.faults import checkpoint
from metacurate.match.matcher import load_or_build
from metacurate.metadata import Metadata, load_metadata, resolve_metadata
from metacurate.pool.readers import ReadOptions
from metacurate.pool.sources import expand_pool, split_large_files
from metacurate.workdir import (
    FORMAT_VERSION,
    Workdir,
    artifact_metadata,
    read_json,
    write_json,
    write_parquet,
)


@dataclass(frozen=True)
class MatchConfig:
    """Everything ``metacurate match`` needs; the CLI flags map one to one onto it."""

    pool: tuple[str, ...]
    out: str
    metadata: str | None = None
    mode: str = "metaclip1"
    text_column: str | None = None
    url_column: str | None = None
    uid_column: str | None = None
    format: str | None = None
    csv_columns: tuple[str, ...] | None = None
    batch_rows: int = 65_536
    part_rows: int = 1_000_000
    workers: int = 1
    engine: str = "local"
    ray_address: str | None = None
    skip_bad_files: bool = False
    force: bool = False
    progress: bool | None = None  # None: a bar only when stderr is a terminal


def _prepare_workdir(wd: Workdir, metadata: Metadata, force: bool) -> None:
    """Write the run's metadata copy; refuse a workdir made with other metadata."""
    if wd.metadata.exists():
        old = load_metadata(wd.metadata)
        if old.hash != metadata.hash:
            if not force:
                raise MetacurateError(
                    f"{wd.root} was made with other metadata (hash {old.hash[:12]}, "
                    f"now {metadata.hash[:12]}); use another --out, or --force to rebuild it"
                )
            for p in wd.matches.glob("*") if wd.matches.exists() else []:
                p.unlink()
    if not wd.metadata.exists() or force:
        wd.root.mkdir(parents=True, exist_ok=True)
        write_json(wd.metadata, list(metadata.entries), compact=True)


def _is_current(record_path: Path, task: MatchTask, spec: MatchSpec) -> bool:
    if not record_path.exists():
        return False
    rec = read_json(record_path)
    return rec.get("config_hash") == spec.config_hash() and rec.get("fingerprint") == fingerprint(
        task.source.path
    )


def match_pool(
    config: MatchConfig, metadata: Metadata | None = None, engine: Engine | None = None
) -> dict:
    """Match every input file once (skipping finished ones), then sum the counts.

    Writes side-cars under ``OUT/matches/``, ``OUT/entry_counts.parquet`` and
    ``OUT/stats.json``; returns the stats.
    """
    started = time.perf_counter()
    metadata = metadata or resolve_metadata(config.metadata)
    sources = split_large_files(expand_pool(config.pool, config.format), config.part_rows)
    wd = Workdir(config.out)
    wd.remove_temporaries()
    _prepare_workdir(wd, metadata, config.force)
    load_or_build(metadata, wd.index, config.mode)  # build once; workers memory-map it
    spec = MatchSpec(
        workdir=str(wd.root),
        metadata_hash=metadata.hash,
        mode=config.mode,
        text_column=config.text_column,
        url_column=config.url_column,
        uid_column=config.uid_column,
        read=ReadOptions(csv_columns=config.csv_columns, batch_rows=config.batch_rows),
        skip_bad_files=config.skip_bad_files,
    )
    tasks = [MatchTask(s) for s in sources]
    todo = [t for t in tasks if config.force or not _is_current(wd.done(t.task_id), t, spec)]
    show = sys.stderr.isatty() if config.progress is None else config.progress
    with (
        tqdm(total=len(todo), desc="match", unit="file", disable=not show) as bar,
        engine_for(engine, config.engine, config.workers, config.ray_address) as eng,
    ):
        for record in eng.map(partial(match_task, spec=spec), todo):
            bar.update(1)
            bar.set_postfix(rows=record["stats"]["rows"], refresh=False)
    stats = merge_counts(wd, metadata, tasks, config.mode)
    stats["match_config"] = {
        "text_column": config.text_column,
        "url_column": config.url_column,
        "uid_column": config.uid_column,
        "csv_columns": list(config.csv_columns) if config.csv_columns else None,
        "format": config.format,
        "batch_rows": config.batch_rows,
    }
    stats["files_matched_now"] = len(todo)
    stats["seconds"] = round(time.perf_counter() - started, 3)
    write_json(wd.stats, stats)
    return stats


def merge_counts(wd: Workdir, metadata: Metadata, tasks: Sequence[MatchTask], mode: str) -> dict:
    """Sum the tasks' partial counts and stats into ``entry_counts.parquet`` and the stats."""
    counts = np.zeros(len(metadata), dtype=np.int64)
    stats = empty_stats()
    bad_files = []
    inputs = []
    for t in tasks:
        rec = read_json(wd.done(t.task_id))
        if rec["error"]:
            bad_files.append({"path": t.source.path, "error": rec["error"]})
        inputs.append(
            {
                "task_id": t.task_id,
                **rec["source"],
                "fingerprint": rec["fingerprint"],
                "rows": rec["stats"]["rows"],
                "error": rec["error"],
            }
        )
        for k, v in rec["stats"].items():
            stats[k] += v
        add_sparse(counts, [pq.read_table(wd.partial_counts(t.task_id))])
        checkpoint("count-file")
    write_parquet(
        wd.entry_counts,
        entry_counts_table(metadata, counts),
        artifact_metadata(metadata.hash, mode),
    )
    hit = int(np.count_nonzero(counts))
    return {
        "format_version": FORMAT_VERSION,
        "metacurate_version": __version__,
        "metadata": {"name": metadata.name, "hash": metadata.hash, "entries": len(metadata)},
        "mode": mode,
        "files": len(tasks),
        "bad_files": bad_files,
        **stats,
        "rows_no_text": stats["rows_null"] + stats["rows_empty"] + stats["rows_invalid_utf8"],
        "entries_hit": hit,
        "entries_never_hit": len(metadata) - hit,
        "inputs": inputs,
    }
