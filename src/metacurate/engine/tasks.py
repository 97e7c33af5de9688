"""File-level tasks: match one input file into its side-car, partial counts and completion
record. The same function runs inline, in a local process pool or as a Ray task."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from metacurate import balance
from metacurate.count import count_entries, sparse_counts_table
from metacurate.errors import MetacurateError
from metacurate.faults import checkpoint
from metacurate.match.matcher import (
    STATUS_NAMES,
    Matcher,
    index_dir,
    load_or_build,
    native_available,
)
from metacurate.metadata import load_metadata
from metacurate.pool.columns import resolve_columns
from metacurate.pool.readers import ReadOptions, read_batches, read_schema
from metacurate.pool.sources import Source
from metacurate.pool.uid import UID_VERSION, row_uids, uid_hash
from metacurate.workdir import (
    FORMAT_VERSION,
    ParquetSink,
    Workdir,
    artifact_metadata,
    task_id_for,
    write_json,
    write_parquet,
)

SIDECAR_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("uid", pa.string()),
        ("uid_hash", pa.uint64()),
        ("entry_ids", pa.list_(pa.int32())),
    ]
)


@dataclass(frozen=True)
class MatchSpec:
    """What every match task of a run shares; its ``config_hash`` names side-car validity."""

    workdir: str
    metadata_hash: str
    mode: str = "metaclip1"
    text_column: str | None = None
    url_column: str | None = None
    uid_column: str | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    skip_bad_files: bool = False

    def config_hash(self) -> str:
        """Hash of everything that changes a side-car's content."""
        cfg = {
            "format_version": FORMAT_VERSION,
            "uid_version": UID_VERSION,
            "metadata_hash": self.metadata_hash,
            "mode": self.mode,
            "columns": [self.text_column, self.url_column, self.uid_column],
            "csv_columns": self.read.csv_columns,
            "wds": [self.read.wds_text_key, self.read.wds_json_field],
        }
        return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class MatchTask:
    """Match one input file."""

    source: Source

    @property
    def task_id(self) -> str:
        return task_id_for(self.source.path, self.source.row_groups)


def fingerprint(path: str) -> dict[str, int | str]:
    """What identifies an input file's content cheaply: path, size, mtime."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise MetacurateError(f"{path}: cannot read input file ({exc.strerror})") from None
    return {"path": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


@lru_cache(maxsize=2)
def _matcher(workdir: str, metadata_hash: str, mode: str) -> Matcher:
    """This process's matcher: the index the driver built, memory-mapped (shared by every
    worker through the page cache); the Python fallback rebuilds from the metadata copy."""
    wd = Workdir(workdir)
    d = index_dir(wd.index, metadata_hash, mode)
    if native_available() and (d / "index.json").exists():
        return Matcher.load(d, metadata_hash, mode)
    metadata = load_metadata(wd.metadata)
    if metadata.hash != metadata_hash:
        raise MetacurateError(f"{wd.metadata} changed during the run; rerun the command")
    return load_or_build(metadata, wd.index, mode)


def empty_stats() -> dict[str, int]:
    return {
        "rows": 0,
        "rows_null": 0,
        "rows_empty": 0,
        "rows_invalid_utf8": 0,
        "rows_matched": 0,
        "total_matches": 0,
    }


def match_task(task: MatchTask, spec: MatchSpec) -> dict:
    """Match ``task.source``; write side-car, partial counts, then the completion record.

    Returns the completion record. A bad file raises ``MetacurateError`` naming it, or with
    ``skip_bad_files`` is recorded as skipped (its record carries the error, no side-car).
    """
    wd = Workdir(spec.workdir)
    src = task.source
    tid = task.task_id
    started = time.perf_counter()
    record = {
        "task_id": tid,
        "source": asdict(src),
        "fingerprint": fingerprint(src.path),
        "config_hash": spec.config_hash(),
        "metadata_hash": spec.metadata_hash,
        "mode": spec.mode,
        "error": None,
    }
    matcher = _matcher(spec.workdir, spec.metadata_hash, spec.mode)
    stats = empty_stats()
    counts = np.zeros(matcher.n_entries, dtype=np.int64)
    kv = artifact_metadata(spec.metadata_hash, spec.mode, source=src.path)
    sink = None
    try:
        schema = read_schema(src, spec.read)
        sink = ParquetSink(wd.sidecar(tid), SIDECAR_SCHEMA, kv, dictionary=False)
        if not schema.names:  # an empty file: no columns, no rows, nothing to match
            batches = iter(())
        else:
            cols = resolve_columns(
                schema, spec.text_column, spec.url_column, spec.uid_column, where=src.path
            )
            record["columns"] = asdict(cols)
            wanted = [c for c in (cols.text, cols.url, cols.uid) if c is not None]
            batches = read_batches(src, spec.read, columns=wanted)
        for batch in batches:
            n = batch.num_rows
            text = batch.column(cols.text)
            try:
                res = matcher.match_arrow(text)
            except MetacurateError as exc:
                raise MetacurateError(f"{src.path}: column {cols.text!r}: {exc}") from None
            uids = row_uids(
                batch.column(cols.uid) if cols.uid else None,
                batch.column(cols.url) if cols.url else None,
                text,
            )
            row0 = src.first_row + stats["rows"]
            rows = np.arange(row0, row0 + n, dtype=np.int64)
            sink.write(
                pa.record_batch(
                    [pa.array(rows), uids, pa.array(uid_hash(uids)), res.entry_ids],
                    schema=SIDECAR_SCHEMA,
                )
            )
            counts += count_entries(res.entry_ids, len(counts))
            by_status = np.bincount(res.status, minlength=len(STATUS_NAMES))
            stats["rows"] += n
            for code, name in STATUS_NAMES.items():
                if name != "text":
                    stats[f"rows_{name}"] += int(by_status[code])
            lengths = np.diff(res.entry_ids.offsets.to_numpy())
            stats["rows_matched"] += int(np.count_nonzero(lengths))
            stats["total_matches"] += int(lengths.sum())
            checkpoint("match-batch")
        sink.commit()
    except (MetacurateError, OSError, pa.ArrowException) as exc:
        if not isinstance(exc, MetacurateError):
            exc = MetacurateError(f"{src.path}: cannot read ({exc})")
        if sink is not None:
            sink.abort()
        if not spec.skip_bad_files:
            raise exc from None
        wd.sidecar(tid).unlink(missing_ok=True)
        record["error"] = str(exc)
        counts[:] = 0
        stats = empty_stats()
    write_parquet(wd.partial_counts(tid), sparse_counts_table(counts), kv)
    record["stats"] = stats
    record["seconds"] = round(time.perf_counter() - started, 3)
    write_json(wd.done(tid), record)  # last: its presence means the task finished
    return record


# --- balance ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceSpec:
    """What every balance task of a run shares."""

    workdir: str
    out: str
    t: float
    seed: int
    metadata_hash: str
    mode: str
    image_column: str | None = None
    read: ReadOptions = field(default_factory=ReadOptions)

    def config(self) -> dict:
        """What a finished balance task must agree with to be reused."""
        return {
            "t": self.t,
            "seed": self.seed,
            "metadata_hash": self.metadata_hash,
            "mode": self.mode,
            "image_column": self.image_column,
            "hash_version": balance.HASH_VERSION,
            "format_version": FORMAT_VERSION,
        }


@dataclass(frozen=True)
class BalanceTask:
    """Balance one input file: its side-car decides, its source rows are copied."""

    task_id: str
    source: Source
    sidecar_record: str  # the match task's completion record: a rematch changes it


@lru_cache(maxsize=2)
def _entry_probs(workdir: str, t: float) -> np.ndarray:
    counts = pq.read_table(Workdir(workdir).entry_counts, columns=["count"]).column(0)
    return balance.entry_probs(counts.to_numpy(), t)


class RowStream:
    """Hands out exactly ``n`` rows at a time from a stream of record batches (to walk a
    side-car in step with its source, whatever either's batch boundaries)."""

    def __init__(self, batches: Iterator[pa.RecordBatch]) -> None:
        self._batches = batches
        self._buffer: list[pa.RecordBatch] = []
        self._buffered = 0

    def take(self, n: int) -> pa.Table:
        while self._buffered < n:
            batch = next(self._batches, None)
            if batch is None:
                raise MetacurateError("side-car has fewer rows than its source; rerun match")
            self._buffer.append(batch)
            self._buffered += batch.num_rows
        table = pa.Table.from_batches(self._buffer).combine_chunks()
        rest = table.slice(n)
        self._buffer = rest.to_batches()
        self._buffered = rest.num_rows
        return table.slice(0, n)

    def exhausted(self) -> bool:
        return self._buffered == 0 and next(self._batches, None) is None


def _parquet_stream(path: Path, columns: list[str], batch_rows: int) -> RowStream:
    return RowStream(
        iter(pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns))
    )


def balance_task(task: BalanceTask, spec: BalanceSpec) -> dict:
    """Decide the rows of one input file from its side-car and write the kept rows with every
    source column plus ``uid``, ``entry_ids`` and ``keep_prob``; then the partial curated
    counts and, last, the completion record. Side-car and source are streamed in step, one
    batch at a time, so memory does not grow with the file."""
    wd, out = Workdir(spec.workdir), Workdir(spec.out)
    p = _entry_probs(spec.workdir, spec.t)
    side = _parquet_stream(
        wd.sidecar(task.task_id), ["uid", "uid_hash", "entry_ids"], spec.read.batch_rows
    )
    select_path = out.balance / f"{task.task_id}.select.parquet"
    select = (  # several texts per image: only the chosen text of each image competes
        _parquet_stream(select_path, ["selected"], spec.read.batch_rows)
        if select_path.exists()
        else None
    )
    kv = artifact_metadata(spec.metadata_hash, spec.mode, t=repr(spec.t), seed=str(spec.seed))
    counts = np.zeros(len(p), dtype=np.int64)
    rows = kept = 0
    expected = 0.0
    path = out.curated_file(task.task_id)
    sink = None
    try:
        for batch in read_batches(task.source, spec.read):
            n = batch.num_rows
            part = side.take(n)
            ids = part.column("entry_ids").combine_chunks()
            keep, prob = balance.decide(ids, part.column("uid_hash").to_numpy(), p, spec.seed)
            if select is not None:
                keep = keep & select.take(n).column("selected").to_numpy()
            kept_rows = pa.array(np.flatnonzero(keep))
            kept_ids = ids.take(kept_rows)
            table = pa.Table.from_batches([batch.filter(pa.array(keep))])
            if "uid" not in table.column_names:
                table = table.append_column("uid", part.column("uid").take(kept_rows))
            table = table.append_column("entry_ids", kept_ids)
            table = table.append_column("keep_prob", pa.array(prob[keep]))
            if sink is None:  # keep the source's own schema metadata (pandas...), add ours
                sink = ParquetSink(
                    path, table.schema, {**(table.schema.metadata or {}), **kv}, dictionary=False
                )
            sink.write(table)
            counts += count_entries(kept_ids, len(p))
            rows, kept, expected = rows + n, kept + len(kept_rows), expected + float(prob.sum())
            checkpoint("balance-batch")
        if not side.exhausted():
            raise MetacurateError(
                f"{task.source.path}: fewer rows than when matched; rerun 'metacurate match'"
            )
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    if sink is not None:  # an empty input gets no curated file
        sink.commit()
    write_parquet(out.balance / f"{task.task_id}.counts.parquet", sparse_counts_table(counts), kv)
    checkpoint("balance-record")
    record = {
        "task_id": task.task_id,
        "config": spec.config(),
        "sidecar_record": task.sidecar_record,
        "rows": rows,
        "curated_rows": kept,
        "expected_rows": expected,
    }
    write_json(out.balance / f"{task.task_id}.done.json", record)  # last
    return record
