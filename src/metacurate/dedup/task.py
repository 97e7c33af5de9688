"""The three dedup tasks: scatter a file's row keys into partitions, find each partition's
duplicates, and turn them into a file's ``unique`` mask and counts over its unique rows.

Each is a pure function of its item and spec, run by any engine (it knows nothing of where it
runs); each writes its outputs, then its completion record (last).

- ``keys_task`` (one per match task): reads the source's rows (every column, for the content
  key) in step with its side-car (``uid``, ``uid_hash``, ``row``), and writes
  ``dedup/keys/<task>.parquet``: ``part, uid, uid_hash, row_key, row``, one row group per
  partition per flush (a flush every ``budget_rows`` rows, so memory stays bounded).
- ``part_task`` (one per partition): reads that partition's row groups of every keys file,
  sorts by ``(uid_hash, uid, row_key, task, row)`` and writes the rows that are not the first
  of their uid to ``dedup/parts/<part>.parquet`` (``task, row``; one row group per task).
- ``unique_task`` (one per match task): reads its duplicates from the partitions, writes the
  ``unique`` mask and the partial counts over the unique rows (from the side-car).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.count import count_entries, sparse_counts_table
from metacurate.dedup.rowkey import ROW_KEY_VERSION, row_keys
from metacurate.errors import MetacurateError
from metacurate.files import ParquetSink, write_json, write_parquet
from metacurate.pool.readers import ReadOptions, read_batches
from metacurate.pool.sources import Source
from metacurate.records import outputs_intact, read_record, stamp_outputs
from metacurate.storage import AnyPath, RemotePath, parquet_file
from metacurate.workdir import FORMAT_VERSION, Workdir

KEYS_SCHEMA = pa.schema(
    [
        ("part", pa.uint32()),
        ("uid", pa.string()),
        ("uid_hash", pa.uint64()),
        ("row_key", pa.uint64()),
        ("row", pa.int64()),
    ]
)
DUPLICATES_SCHEMA = pa.schema([("task", pa.int32()), ("row", pa.int64())])
UNIQUE_SCHEMA = pa.schema([("unique", pa.bool_())])
#: What the dedup work files say about themselves (schema metadata).
DEDUP_KV = {b"metacurate.format_version": str(FORMAT_VERSION).encode(), b"metacurate.dedup": b"1"}


@dataclass(frozen=True)
class DedupSpec:
    """What every dedup task of a run shares."""

    workdir: str | RemotePath
    partitions: int  # uids are split by uid_hash % partitions
    budget_rows: int  # rows a task holds at once (keys: per flush; parts: about this many)
    n_entries: int
    read: ReadOptions

    def config(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "row_key_version": ROW_KEY_VERSION,
            "partitions": self.partitions,
        }


@dataclass(frozen=True)
class KeysTask:
    task_id: str
    source: Source
    sidecar_record: str  # digest of the match task's completion record


@dataclass(frozen=True)
class PartTask:
    part: int
    inputs: tuple[tuple[int, str, tuple[int, ...]], ...]  # (task index, task id, row groups)
    inputs_digest: str  # identity of the keys files it reads


@dataclass(frozen=True)
class UniqueTask:
    task_id: str
    index: int  # the task's index in the run (the ``task`` column of the partitions)
    rows: int
    first_row: int
    groups: tuple[tuple[int, tuple[int, ...]], ...]  # (partition, row groups) with its rows
    inputs_digest: str  # identity of the partitions it reads


def digest(obj: object) -> str:
    """A short sha256 of ``obj`` as sorted-key JSON (what a record must agree with)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def record_current(path: AnyPath, config: dict, root: AnyPath) -> bool:
    """A completion record whose config matches, with its outputs there as recorded
    (records.py); a damaged record is none."""
    record = read_record(path)
    return record is not None and record.get("config") == config and outputs_intact(root, record)


class _Rows:
    """Hands out exactly ``n`` values at a time from a stream of numpy arrays."""

    def __init__(self, arrays: Iterator[np.ndarray], where: str) -> None:
        self._arrays, self._buf, self._where = arrays, np.zeros(0, np.uint64), where

    def take(self, n: int) -> np.ndarray:
        parts, have = [self._buf], len(self._buf)
        while have < n:
            nxt = next(self._arrays, None)
            if nxt is None:
                raise MetacurateError(
                    f"{self._where}: fewer rows than when matched; rerun 'metacurate match'"
                )
            parts.append(nxt)
            have += len(nxt)
        joined = np.concatenate(parts) if len(parts) > 1 else parts[0]
        self._buf = joined[n:]
        return joined[:n]

    def exhausted(self) -> bool:
        return len(self._buf) == 0 and next(self._arrays, None) is None


def _row_groups_by(path: AnyPath, column: int) -> dict[int, list[int]]:
    """Row groups of a file each holding one value of ``column``: value -> row groups."""
    out: dict[int, list[int]] = {}
    with parquet_file(path) as pf:
        meta = pf.metadata
        for rg in range(meta.num_row_groups):
            st = meta.row_group(rg).column(column).statistics
            if st is None or st.min != st.max:  # we write one value per row group
                raise ValueError(f"{path}: row group {rg} holds several values")
            out.setdefault(int(st.min), []).append(rg)
    return out


def keys_task(task: KeysTask, spec: DedupSpec, checkpoint: Callable[[str], None]) -> dict:
    """Write ``dedup/keys/<task>.parquet`` and its record (row groups per partition)."""
    wd = Workdir(spec.workdir)
    out = wd.dedup_keys(task.task_id)
    sink = ParquetSink(out, KEYS_SCHEMA, DEDUP_KV, dictionary=False, compression="lz4")
    keys = _Rows((row_keys(b) for b in read_batches(task.source, spec.read)), task.source.path)
    buffered: list[pa.Table] = []
    rows = 0

    def flush() -> None:
        if not buffered:
            return
        t = pa.concat_tables(buffered).combine_chunks()
        buffered.clear()
        part = t.column("part").to_numpy()
        order = np.argsort(part, kind="stable")
        t, part = t.take(pa.array(order)), part[order]
        bounds = np.flatnonzero(np.diff(part)) + 1
        for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(part)], strict=True):
            sink.write(t.slice(int(a), int(b - a)))

    try:
        with parquet_file(wd.sidecar(task.task_id)) as pf:
            cols = ["row", "uid", "uid_hash"]
            for batch in pf.iter_batches(batch_size=spec.read.batch_rows, columns=cols):
                uh = batch.column("uid_hash").to_numpy()
                part = (uh % np.uint64(spec.partitions)).astype(np.uint32)
                rk = keys.take(batch.num_rows)
                cols_out = [part, batch.column("uid"), uh, rk, batch.column("row")]
                buffered.append(pa.table(cols_out, schema=KEYS_SCHEMA))
                rows += batch.num_rows
                if sum(b.num_rows for b in buffered) >= spec.budget_rows:
                    flush()
                checkpoint("dedup-keys-batch")
        if not keys.exhausted():
            raise MetacurateError(
                f"{task.source.path}: more rows than when matched; rerun 'metacurate match'"
            )
        flush()
    except BaseException:
        sink.abort()
        raise
    sink.commit()
    groups = _row_groups_by(out, 0)
    record = {
        "task_id": task.task_id,
        "config": {**spec.config(), "sidecar_record": task.sidecar_record},
        "rows": rows,
        "groups": {str(p): g for p, g in sorted(groups.items())},
        "outputs": stamp_outputs(wd.root, [out]),
    }
    write_json(wd.dedup_keys_done(task.task_id), record)  # last
    return record


def part_task(task: PartTask, spec: DedupSpec, checkpoint: Callable[[str], None]) -> dict:
    """Find the duplicates of one partition: every row but the first of its uid in the order
    ``(uid_hash, uid, row_key, task, row)``; write them, one row group per task."""
    wd = Workdir(spec.workdir)
    tables = []
    for index, task_id, groups in task.inputs:
        with parquet_file(wd.dedup_keys(task_id)) as pf:
            t = pf.read_row_groups(list(groups), columns=["uid", "uid_hash", "row_key", "row"])
        tables.append(t.append_column("task", pa.array(np.full(t.num_rows, index, np.int32))))
    rows = sum(t.num_rows for t in tables)
    dup_task = np.zeros(0, np.int32)
    dup_row = np.zeros(0, np.int64)
    if rows:
        t = pa.concat_tables(tables).combine_chunks()
        tables.clear()
        keys = [(c, "ascending") for c in ("uid_hash", "uid", "row_key", "task", "row")]
        t = t.take(pc.sort_indices(t, sort_keys=keys))
        uh, uid = t.column("uid_hash").to_numpy(), t.column("uid").combine_chunks()
        same = (uh[1:] == uh[:-1]) & pc.equal(uid.slice(1), uid.slice(0, len(uid) - 1)).to_numpy(
            zero_copy_only=False
        )
        dup = np.flatnonzero(same) + 1  # not the first row of its uid
        dup_task = t.column("task").to_numpy()[dup]
        dup_row = t.column("row").to_numpy()[dup]
        order = np.lexsort((dup_row, dup_task))
        dup_task, dup_row = dup_task[order], dup_row[order]
    checkpoint("dedup-part")
    out = wd.dedup_part(task.part)
    sink = ParquetSink(out, DUPLICATES_SCHEMA, DEDUP_KV, dictionary=False, compression="lz4")
    try:
        bounds = np.flatnonzero(np.diff(dup_task)) + 1
        for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(dup_task)], strict=True):
            if b > a:
                sink.write(pa.table([dup_task[a:b], dup_row[a:b]], schema=DUPLICATES_SCHEMA))
    except BaseException:
        sink.abort()
        raise
    sink.commit()
    record = {
        "part": task.part,
        "config": {**spec.config(), "inputs": task.inputs_digest},
        "rows": rows,
        "duplicates": len(dup_row),
        "groups": {str(k): g for k, g in sorted(_row_groups_by(out, 0).items())},
        "outputs": stamp_outputs(wd.root, [out]),
    }
    write_json(wd.dedup_part_done(task.part), record)  # last
    return record


def unique_task(task: UniqueTask, spec: DedupSpec, checkpoint: Callable[[str], None]) -> dict:
    """The ``unique`` mask of one match task and its partial counts over unique rows."""
    wd = Workdir(spec.workdir)
    unique = np.ones(task.rows, bool)
    for part, groups in task.groups:
        with parquet_file(wd.dedup_part(part)) as pf:
            rows = pf.read_row_groups(list(groups), columns=["row"]).column(0).to_numpy()
        unique[rows - task.first_row] = False
    counts = np.zeros(spec.n_entries, np.int64)
    matched = matches = at = 0
    with parquet_file(wd.sidecar(task.task_id)) as pf:
        for batch in pf.iter_batches(batch_size=spec.read.batch_rows, columns=["entry_ids"]):
            ids = batch.column(0).filter(pa.array(unique[at : at + batch.num_rows]))
            at += batch.num_rows
            lengths = pc.list_value_length(ids).to_numpy(zero_copy_only=False)
            matched += int(np.count_nonzero(lengths))
            matches += int(lengths.sum())
            counts += count_entries(ids, spec.n_entries)
    if at != task.rows:
        raise MetacurateError(f"{wd.sidecar(task.task_id)}: {at} rows, its record says {task.rows}")
    checkpoint("dedup-unique")
    write_parquet(wd.dedup_unique(task.task_id), pa.table({"unique": unique}), DEDUP_KV)
    write_parquet(wd.dedup_counts(task.task_id), sparse_counts_table(counts), DEDUP_KV)
    record = {
        "task_id": task.task_id,
        "config": {**spec.config(), "inputs": task.inputs_digest, "rows": task.rows},
        "rows": task.rows,
        "duplicates": int(task.rows - np.count_nonzero(unique)),
        "rows_matched": matched,
        "total_matches": matches,
        "unique_sha256": hashlib.sha256(np.packbits(unique).tobytes()).hexdigest()[:16],
        "outputs": stamp_outputs(
            wd.root, [wd.dedup_unique(task.task_id), wd.dedup_counts(task.task_id)]
        ),
    }
    write_json(wd.dedup_done(task.task_id), record)  # last
    return record
