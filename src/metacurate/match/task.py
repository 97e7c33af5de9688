"""The match task: one input file → its side-car, partial counts and completion record.

The same function runs inline, in a local process pool or as a Ray task; it knows nothing of
where it runs. Side-car schema (docs/formats.md): one row per input row.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from metacurate.count import count_entries, sparse_counts_table
from metacurate.errors import EnvironmentFault, InputError, MetacurateError
from metacurate.files import ParquetSink, write_json, write_parquet
from metacurate.kernel import native_available
from metacurate.match.index_cache import cache_root, host, mapped_index, verified_index
from metacurate.match.matcher import STATUS_NAMES, Matcher
from metacurate.match.worldwide_run import (
    LANG_FIELDS,
    WorldwideTaskMatcher,
    split_metadata,
)
from metacurate.metadata import Metadata, load_metadata
from metacurate.metadata.layout import Layout
from metacurate.metadata.worldwide import WorldwideMetadata, load_run_wide
from metacurate.pool.columns import Columns, resolve_columns
from metacurate.pool.readers import ReadOptions, decode_dictionaries, read_batches, read_schema
from metacurate.pool.sources import Source, fingerprint
from metacurate.pool.uid import UID_VERSION, row_uids, uid_hash
from metacurate.records import stamp_outputs
from metacurate.storage import RemotePath
from metacurate.workdir import FORMAT_VERSION, Workdir, artifact_metadata, task_id_for

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

    workdir: str | RemotePath  # a local folder, or a folder on an object store
    metadata_hash: str
    mode: str = "metaclip1"
    text_column: str | None = None
    url_column: str | None = None
    uid_column: str | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    skip_bad_files: bool = False
    index_cache: str = ""  # the cache folder the driver verified the index in...
    index_host: str = ""  # ...on this machine
    index_cache_given: bool = False  # set by the user: other machines use it too
    lang_column: str | None = None  # metaclip2 modes (match/worldwide_run.py)
    lid_model: str = "fasttext-lid176"
    layout: Layout | None = None  # metaclip2 modes: the languages' place in the run-wide ids
    index_identity: str = ""  # the verified index's files (index_cache.identity)
    lid_min_score: float = 0.0  # metaclip2 modes with LID: rows scoring below go to 'other'

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
        if self.layout is not None:
            cfg["worldwide"] = [self.layout.hash, self.lang_column, self.lid_model]
            if self.lang_column is None and self.lid_min_score:
                cfg["lid_min_score"] = self.lid_min_score
        return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class MatchTask:
    """Match one input file (or a row-group range of a big Parquet file)."""

    source: Source

    @property
    def task_id(self) -> str:
        return task_id_for(self.source.path, self.source.row_groups)


def sidecar_schema(spec: MatchSpec) -> pa.Schema:
    """The side-car schema: ``lang``, ``lid_label``, ``lid_score`` added in metaclip2 modes."""
    if spec.layout is None:
        return SIDECAR_SCHEMA
    return pa.schema(list(SIDECAR_SCHEMA) + [pa.field(n, t) for n, t in LANG_FIELDS])


def _index_root(spec: MatchSpec) -> tuple[Path, bool]:
    """The index cache folder a worker uses, and whether it is the driver's machine."""
    same_host = spec.index_host == host()
    given = spec.index_cache and (same_host or spec.index_cache_given)
    return (Path(spec.index_cache) if given else cache_root()), same_host


def _worldwide_matcher(spec: MatchSpec) -> WorldwideTaskMatcher:
    wd = Workdir(spec.workdir)
    assert spec.layout is not None
    loaded: list[Metadata] = []

    def whole() -> Metadata:  # read only when an index has to be (re)built here
        if not loaded:
            loaded.append(load_run_wide(wd.metadata))
        return loaded[0]

    ww = WorldwideMetadata(
        spec.layout.name,
        list(spec.layout.languages),
        lambda lang: split_metadata(whole(), spec.layout).get(lang),
    )
    root, _ = _index_root(spec)
    return WorldwideTaskMatcher(
        spec.layout, ww, spec.mode, root, spec.lang_column, spec.lid_model, spec.lid_min_score
    )


def task_matcher(spec: MatchSpec) -> Matcher | WorldwideTaskMatcher:
    """The matcher of this task: the cached index the driver verified, memory-mapped (shared
    by every worker of a machine through the page cache). A machine without it (another Ray
    node) builds its own from the run's metadata copy; so does the Python fallback. metaclip2
    modes: one index per language, in the same cache."""
    if spec.layout is not None:
        return _worldwide_matcher(spec)
    wd = Workdir(spec.workdir)
    root, same_host = _index_root(spec)  # elsewhere: that machine's own cache
    if native_available():
        matcher = mapped_index(spec.metadata_hash, root, spec.mode, same_host, spec.index_identity)
        if matcher is not None:
            return matcher
    metadata = load_metadata(wd.metadata)
    if metadata.hash != spec.metadata_hash:
        raise MetacurateError(f"{wd.metadata} changed during the run; rerun the command")
    if not native_available():
        return Matcher(metadata, mode=spec.mode)
    return verified_index(metadata, root, spec.mode)


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array (dictionary-encoded columns decoded)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr


def empty_stats() -> dict[str, int]:
    return {
        "rows": 0,
        "rows_null": 0,
        "rows_empty": 0,
        "rows_invalid_utf8": 0,
        "rows_matched": 0,
        "total_matches": 0,
        "rows_duplicate_uid": 0,  # rows whose uid an earlier row of the same file has
        "matches_per_row": [0] * (MATCHES_CAP + 1),
    }


#: ``stats["matches_per_row"][k]``: rows with k matched entries; the last bucket counts
#: ``>= MATCHES_CAP`` (the report's histogram, so the report need not reread side-cars).
MATCHES_CAP = 16


def _add_batch_stats(stats: dict, status: np.ndarray, entry_ids: pa.ListArray) -> None:
    by_status = np.bincount(status, minlength=len(STATUS_NAMES))
    stats["rows"] += len(status)
    for code, name in STATUS_NAMES.items():
        if name != "text":
            stats[f"rows_{name}"] += int(by_status[code])
    lengths = np.diff(entry_ids.offsets.to_numpy())
    stats["rows_matched"] += int(np.count_nonzero(lengths))
    stats["total_matches"] += int(lengths.sum())
    hist = np.bincount(np.minimum(lengths, MATCHES_CAP), minlength=MATCHES_CAP + 1)
    stats["matches_per_row"] = [
        a + int(b) for a, b in zip(stats["matches_per_row"], hist, strict=True)
    ]


def _match_rows(
    src: Source,
    cols: Columns,
    spec: MatchSpec,
    matcher: Matcher,
    sink: ParquetSink,
    stats: dict[str, int],
    counts: np.ndarray,
    checkpoint: Callable[[str], None],
) -> None:
    """Match every batch of ``src`` into ``sink``; add to ``stats`` and ``counts``."""
    wanted = [c for c in (cols.text, cols.url, cols.uid, spec.lang_column) if c is not None]
    schema = sidecar_schema(spec)
    hashes = []
    for batch in read_batches(src, spec.read, columns=list(dict.fromkeys(wanted))):
        batch = decode_dictionaries(batch)
        text = batch.column(cols.text)
        extra: list[pa.Array] = []
        try:
            if isinstance(matcher, WorldwideTaskMatcher):
                langs = batch.column(spec.lang_column) if spec.lang_column else None
                res, extra = matcher.match(_plain(text), _plain(langs) if langs else None)
            else:
                res = matcher.match_arrow(text)
        except MetacurateError as exc:
            raise InputError(f"{src.path}: column {cols.text!r}: {exc}") from None
        try:
            uids = row_uids(
                batch.column(cols.uid) if cols.uid else None,
                batch.column(cols.url) if cols.url else None,
                text,
            )
        except MetacurateError as exc:
            raise InputError(f"{src.path}: column {cols.uid!r}: {exc}") from None
        row0 = src.first_row + stats["rows"]
        rows = np.arange(row0, row0 + batch.num_rows, dtype=np.int64)
        hashes.append(uid_hash(uids))
        sink.write(
            pa.record_batch(
                [pa.array(rows), uids, pa.array(hashes[-1]), res.entry_ids, *extra],
                schema=schema,
            )
        )
        counts += count_entries(res.entry_ids, len(counts))
        _add_batch_stats(stats, res.status, res.entry_ids)
        checkpoint("match-batch")
    if hashes:  # 8 bytes per row of this file; a sort, 80x faster than np.unique's hash table
        ordered = np.sort(np.concatenate(hashes))
        stats["rows_duplicate_uid"] = int(np.count_nonzero(ordered[1:] == ordered[:-1]))


def _columns(src: Source, spec: MatchSpec) -> Columns | None:
    """The caption/url/uid columns of the input (None for an empty file); input errors."""
    schema = read_schema(src, spec.read)
    if not schema.names:  # an empty file has no columns, no rows, nothing to match
        return None
    try:
        cols = resolve_columns(
            schema, spec.text_column, spec.url_column, spec.uid_column, where=src.path
        )
    except InputError:
        raise
    except MetacurateError as exc:
        raise InputError(str(exc)) from None
    if spec.lang_column and spec.lang_column not in schema.names:
        raise InputError(
            f"{src.path}: no language column {spec.lang_column!r} (columns: "
            f"{', '.join(schema.names)}); name it with --lang-column or omit the flag "
            "to identify languages"
        )
    return cols


def _skip(wd: Workdir, record: dict, exc: InputError) -> dict:
    """Record an unreadable input as skipped: not a finished task, so the next run retries
    it; stale results of an earlier good run of it are removed."""
    tid = record["task_id"]
    for stale in (wd.done(tid), wd.sidecar(tid), wd.partial_counts(tid)):
        stale.unlink(missing_ok=True)
    record = {**record, "error": str(exc), "stats": empty_stats()}
    write_json(wd.skipped(tid), record)
    return record


def match_task(task: MatchTask, spec: MatchSpec, checkpoint: Callable[[str], None]) -> dict:
    """Match ``task.source``; write side-car, partial counts, then the completion record.

    Returns the completion record. An unreadable input raises ``InputError`` naming it, or
    with ``skip_bad_files`` is recorded as skipped (``matches/<task>.skipped.json``, no
    completion record: the next run tries it again). A failure of the work folder (disk full,
    permissions) is an ``EnvironmentFault`` and is never skipped.
    """
    try:
        return _match_task(task, spec, checkpoint)
    except OSError as exc:
        raise EnvironmentFault.from_oserror(exc, f"matching {task.source.path}") from None


def _match_task(task: MatchTask, spec: MatchSpec, checkpoint: Callable[[str], None]) -> dict:
    wd = Workdir(spec.workdir)
    src = task.source
    tid = task.task_id
    started = time.perf_counter()
    record = {
        "task_id": tid,
        "source": asdict(src),
        "fingerprint": None,
        "config_hash": spec.config_hash(),
        "metadata_hash": spec.metadata_hash,
        "mode": spec.mode,
        "error": None,
    }
    matcher = task_matcher(spec)
    stats = empty_stats()
    counts = np.zeros(matcher.n_entries, dtype=np.int64)
    kv = artifact_metadata(spec.metadata_hash, spec.mode, source=src.path)
    schema = sidecar_schema(spec)
    sink = ParquetSink(wd.sidecar(tid), schema, kv, dictionary=False, compression="lz4")
    try:
        record["fingerprint"] = fingerprint(src.path, spec.read.s3_endpoint)
        cols = _columns(src, spec)
        if cols is not None:
            record["columns"] = asdict(cols)
            _match_rows(src, cols, spec, matcher, sink, stats, counts, checkpoint)
    except InputError as exc:
        sink.abort()
        if not spec.skip_bad_files:
            raise
        return _skip(wd, record, exc)
    except BaseException:
        sink.abort()
        raise
    sink.commit()
    write_parquet(wd.partial_counts(tid), sparse_counts_table(counts), kv)
    record["stats"] = stats
    if isinstance(matcher, WorldwideTaskMatcher):
        record["lang_stats"] = {} if record["error"] else matcher.lang_stats
        record["lid_hist"] = {} if record["error"] else matcher.lid_hist
    record["outputs"] = stamp_outputs(wd.root, [wd.sidecar(tid), wd.partial_counts(tid)])
    record["seconds"] = round(time.perf_counter() - started, 3)
    write_json(wd.done(tid), record)  # last: its presence means the task finished
    wd.skipped(tid).unlink(missing_ok=True)
    return record
