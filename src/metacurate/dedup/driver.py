"""The dedup stage (``match --dedup``, ``curate --dedup``), between match and count.

Rows are split by ``uid_hash % P`` into ``P`` partitions on disk, ``P`` chosen so that one
partition fits the memory budget; each partition is sorted alone, so memory does not grow with
the pool. Of the rows that share a uid, the first in the order ``(row_key, task, row)`` is
kept: ``row_key`` is a hash of the row's whole content (``dedup.rowkey``), so the kept copy
does not depend on file names, file order, the split into files or the worker count (rows
equal in every column are interchangeable; among those the first task in the run's order
wins). Counts are then made over the kept rows only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from metacurate.count import add_sparse
from metacurate.dedup.task import (
    DedupSpec,
    KeysTask,
    PartTask,
    UniqueTask,
    digest,
    keys_task,
    part_task,
    record_current,
    unique_task,
)
from metacurate.engine import Engine
from metacurate.files import read_json
from metacurate.pool.readers import ReadOptions
from metacurate.pool.sources import Source
from metacurate.progress import progress_bar
from metacurate.storage import AnyPath, portable, read_table, rmtree
from metacurate.workdir import Workdir

#: Bytes a partition task may hold per row (uid, hashes, row, sort order, copies): measured
#: ~135 at its peak with 16-character uids (2M rows, Arrow's allocator); twice that leaves room
#: for longer uids. ``P`` = rows x this / budget; bench_dedup.py shows the peak stays flat.
BYTES_PER_ROW = 256
#: The order that decides which copy of a uid is kept (recorded in stats and manifest).
ORDER = "smallest (row_key, task, row) per uid; row_key = hash of the row's whole content"


@dataclass(frozen=True)
class DedupInput:
    """One finished match task: its id, source, rows and the digest of its record."""

    task_id: str
    source: Source
    rows: int
    sidecar_record: str


def partitions_for(rows: int, memory_mb: int) -> int:
    """How many partitions keep one partition's work within ``memory_mb`` MiB."""
    return max(1, math.ceil(rows * BYTES_PER_ROW / (memory_mb * 2**20)))


def unique_mask(wd: Workdir, task_id: str) -> np.ndarray:
    """The ``unique`` mask of a match task (false: a removed duplicate)."""
    return read_table(wd.dedup_unique(task_id)).column("unique").to_numpy(zero_copy_only=False)


def deduped(workdir: str | AnyPath) -> bool:
    """Was the work folder matched with ``--dedup`` (its stats say so)?"""
    wd = Workdir(workdir)
    return wd.stats.exists() and "dedup" in read_json(wd.stats)


def unique_of(wd: Workdir) -> Callable[[dict], np.ndarray] | None:
    """For a ``--dedup`` work folder, the ``unique`` mask of an input (a ``stats.json``
    entry); None for a folder matched without it."""
    if not deduped(wd.root):
        return None
    return lambda inp: unique_mask(wd, inp["task_id"])


def unique_rows(workdir: str | AnyPath) -> np.ndarray:
    """One bool per side-car row of a ``--dedup`` work folder (its inputs in ``stats.json``
    order): false for a removed copy of a uid."""
    wd = Workdir(workdir)
    stats = read_json(wd.stats)
    masks = [unique_mask(wd, i["task_id"]) for i in stats["inputs"] if i["error"] is None]
    return np.concatenate(masks) if masks else np.zeros(0, bool)


def unique_record(wd: Workdir, task_id: str) -> dict:
    return read_json(wd.dedup_done(task_id))


def remove_dedup(wd: Workdir) -> None:
    """A run without dedup: the dedup work files of an earlier run go."""
    if wd.dedup.exists():
        rmtree(wd.dedup)


def _task_of(name: str) -> str:
    for suffix in (".done.json", ".counts.parquet", ".parquet"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _remove_stale(wd: Workdir, task_ids: set[str], partitions: int) -> None:
    """Files of tasks no longer in the run, and partitions beyond ``partitions``."""
    for sub in ("keys", "unique"):
        folder = wd.dedup / sub
        for p in folder.iterdir() if folder.exists() else []:
            if not p.name.startswith(".") and _task_of(p.name) not in task_ids:
                p.unlink()
    folder = wd.dedup / "parts"
    for p in folder.iterdir() if folder.exists() else []:
        stem = _task_of(p.name)
        if not p.name.startswith(".") and not (stem.isdigit() and int(stem) < partitions):
            p.unlink()


def _run(engine: Engine, fn, todo: list, name: str, progress: bool | None) -> None:
    with progress_bar(len(todo), name, "task", progress) as bar:
        for _ in engine.map(fn, todo):
            bar.update(1)


def _run_pending(
    engine: Engine,
    fn: Callable,
    tasks: Sequence,
    name: str,
    progress: bool | None,
    wd: Workdir,
    done: Callable[[object], AnyPath],
    config: Callable[[object], dict],
) -> None:
    """Run the tasks whose completion record (``done(task)``) is not current for
    ``config(task)``: the three dedup steps' one resume rule."""
    todo = [t for t in tasks if not record_current(done(t), config(t), wd.root)]
    _run(engine, fn, todo, name, progress)


def _strip(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "seconds"}


def run_dedup(
    workdir: AnyPath,
    inputs: Sequence[DedupInput],
    n_entries: int,
    read: ReadOptions,
    memory_mb: int,
    engine: Engine,
    progress: bool | None = None,
) -> tuple[np.ndarray, dict]:
    """Find the duplicates of the pool's uids; returns the counts over unique rows and the
    numbers for stats and manifest. Finished tasks with the same inputs are reused."""
    wd = Workdir(workdir)
    total = sum(i.rows for i in inputs)
    spec = DedupSpec(
        workdir=portable(wd.root),
        partitions=partitions_for(total, memory_mb),
        budget_rows=max(1, memory_mb * 2**20 // BYTES_PER_ROW),
        n_entries=n_entries,
        read=read,
    )
    _remove_stale(wd, {i.task_id for i in inputs}, spec.partitions)

    keys = [KeysTask(i.task_id, i.source, i.sidecar_record) for i in inputs]
    _run_pending(
        engine, partial(keys_task, spec=spec), keys, "dedup keys", progress, wd,
        lambda k: wd.dedup_keys_done(k.task_id),
        lambda k: {**spec.config(), "sidecar_record": k.sidecar_record},
    )  # fmt: skip
    key_records = [_strip(read_json(wd.dedup_keys_done(k.task_id))) for k in keys]

    keys_digest = digest(key_records)
    parts = []
    for p in range(spec.partitions):
        got = tuple(
            (i, r["task_id"], tuple(r["groups"][str(p)]))
            for i, r in enumerate(key_records)
            if str(p) in r["groups"]
        )
        parts.append(PartTask(p, got, keys_digest))
    _run_pending(
        engine, partial(part_task, spec=spec), parts, "dedup partitions", progress, wd,
        lambda t: wd.dedup_part_done(t.part),
        lambda t: {**spec.config(), "inputs": t.inputs_digest},
    )  # fmt: skip
    part_records = [_strip(read_json(wd.dedup_part_done(t.part))) for t in parts]

    parts_digest = digest(part_records)
    uniques = []
    for i, inp in enumerate(inputs):
        groups = tuple(
            (r["part"], tuple(r["groups"][str(i)])) for r in part_records if str(i) in r["groups"]
        )
        uniques.append(
            UniqueTask(inp.task_id, i, inp.rows, inp.source.first_row, groups, parts_digest)
        )
    _run_pending(
        engine, partial(unique_task, spec=spec), uniques, "dedup masks", progress, wd,
        lambda u: wd.dedup_done(u.task_id),
        lambda u: {**spec.config(), "inputs": u.inputs_digest, "rows": u.rows},
    )  # fmt: skip
    records = [unique_record(wd, u.task_id) for u in uniques]
    counts = add_sparse(
        np.zeros(n_entries, np.int64), (read_table(wd.dedup_counts(u.task_id)) for u in uniques)
    )
    removed = sum(r["duplicates"] for r in records)
    return counts, {
        "partitions": spec.partitions,
        "memory_mb": memory_mb,
        "order": ORDER,
        "rows": total,
        "rows_removed": removed,
        "rows_unique": total - removed,
        "rows_matched_unique": sum(r["rows_matched"] for r in records),
        "total_matches_unique": sum(r["total_matches"] for r in records),
    }
