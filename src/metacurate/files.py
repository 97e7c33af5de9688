"""The one atomic-write helper: a temporary name in the same folder, fsync, rename.

Every file metacurate writes goes through :func:`atomic_path` (or :class:`ParquetSink`, which
uses the same temporary names), so a reader sees either the old file or the whole new one, and
a killed run leaves only temporaries, which :func:`remove_temporaries` deletes on the next run.
Temporary names are ``.NAME.tmp-PID-RANDOM``: they start with a dot (pyarrow and pandas skip
them when reading a folder) and cannot be confused with a file metacurate finishes.

On object stores (``s3://``...), which have no rename, a write goes to the final key and the
object appears only when complete; completion records written last say which tasks finished
(docs/storage.md).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from metacurate.errors import EnvironmentFault, MetacurateError
from metacurate.storage import AnyPath, RemotePath, location, open_output, parquet_writer
from metacurate.storage import read_table as _read_table
from metacurate.storage import write_table as _write_table

TMP_INFIX = ".tmp-"


def temp_path(path: Path) -> Path:
    """A fresh temporary name beside ``path`` (unique per process and call)."""
    return path.with_name(f".{path.name}{TMP_INFIX}{os.getpid()}-{secrets.token_hex(4)}")


def is_temporary(path: Path) -> bool:
    """True for a name :func:`temp_path` makes."""
    return path.name.startswith(".") and TMP_INFIX in path.name


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(tmp: Path, path: Path) -> None:
    """Make ``tmp`` durable and rename it to ``path`` (files and whole folders)."""
    if tmp.is_dir():
        for p in tmp.iterdir():
            _fsync(p)
    _fsync(tmp)
    os.replace(tmp, path)
    _fsync(path.parent)


def discard(tmp: AnyPath) -> None:
    """Remove a temporary file or folder, if it is there."""
    if isinstance(tmp, RemotePath):
        if tmp.is_dir():
            tmp.rmtree()
        else:
            tmp.unlink(missing_ok=True)
    elif tmp.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.unlink(missing_ok=True)


@contextmanager
def naming(path: str | AnyPath) -> Iterator[None]:
    """An ``OSError`` raised in the block without a file name (a full disk seen by a
    writer) gets ``path``, so the one line the run prints names the file."""
    try:
        yield
    except OSError as exc:
        if not exc.filename:
            exc.filename = str(path)
        raise


@contextmanager
def atomic_path(path: str | AnyPath) -> Iterator[AnyPath]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it is
    removed. The parent folder is created.

    On an object store (no rename) the final key itself is yielded: an object appears only
    when its upload completes, so a killed writer leaves the old object or none; on an
    error the new object is deleted. Readers rely on completion records written last
    (docs/storage.md)."""
    path = location(path)
    if isinstance(path, RemotePath):
        try:
            yield path
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with naming(path):
            yield tmp
            commit(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def write_text(path: str | AnyPath, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: str | AnyPath, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: str | AnyPath, obj: Any, compact: bool = False) -> None:
    """JSON with sorted keys (equal content, equal bytes); ``compact`` for big lists. Refuses
    NaN and infinities, which are not JSON."""
    if compact:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    else:
        text = json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
    write_text(path, text + "\n")


class DamagedFile(MetacurateError):
    """A work file of a run is missing or cannot be read whole (cut short, overwritten)."""

    @classmethod
    def at(cls, path: str | AnyPath, why: str) -> DamagedFile:
        return cls(
            f"{path}: {why}; rerun the command that made this folder (curate, match or "
            "balance): it rebuilds the file"
        )


def _damage(path: str | AnyPath, exc: BaseException) -> MetacurateError:
    """What a failed read of a work file says: missing, damaged, or the disk's own fault."""
    if isinstance(exc, FileNotFoundError):
        return DamagedFile.at(path, "missing")
    if isinstance(exc, OSError) and exc.errno is not None:
        return EnvironmentFault.from_oserror(exc, "reading")
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return DamagedFile.at(path, f"damaged or cut short ({first})")


def read_json(path: str | AnyPath) -> Any:
    """A JSON work file; missing or damaged: one line naming it (:class:`DamagedFile`)."""
    try:
        return json.loads(location(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _damage(path, exc) from None


@contextmanager
def reading(path: str | AnyPath) -> Iterator[None]:
    """Read a work file in the block: its damage (a cut-short or overwritten Parquet file,
    found by the reader at any batch) is one line naming it (:class:`DamagedFile`)."""
    try:
        yield
    except MetacurateError:
        raise
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise _damage(path, exc) from None


def read_parquet(path: AnyPath, columns: list[str] | None = None) -> pa.Table:
    """A Parquet work file (whole or some ``columns``); missing or damaged: one line naming
    it (:class:`DamagedFile`)."""
    try:
        return _read_table(path, columns=columns)
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise _damage(path, exc) from None


#: Columns of unique values (one row per entry): dictionary encoding only costs time there
#: (entry_counts.parquet: 0.14 -> 0.08 s for 500k entries, and smaller).
UNIQUE_COLUMNS = ("entry_id", "entry")


def write_parquet(path: str | AnyPath, table: pa.Table, kv: dict[bytes, bytes]) -> None:
    """A whole table, zstd, with self-describing schema metadata; no dictionary encoding
    for :data:`UNIQUE_COLUMNS`."""
    dictionary = [c for c in table.column_names if c not in UNIQUE_COLUMNS]
    with atomic_path(path) as tmp:
        _write_table(
            table.replace_schema_metadata(kv), tmp, compression="zstd", use_dictionary=dictionary
        )


def save_npy(path: str | AnyPath, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp, open_output(tmp) as fh:
        np.save(fh, arr, allow_pickle=False)


class ParquetSink:
    """Streaming Parquet writer to a temporary name; :meth:`commit` renames it into place.

    ``dictionary=False`` for columns of unique values, where dictionary encoding only costs
    time; ``compression="lz4"`` for work files read once (faster to write and read than zstd,
    about 1.5x the size; measured in docs/performance.md)."""

    def __init__(
        self,
        path: AnyPath,
        schema: pa.Schema,
        kv: dict[bytes, bytes],
        dictionary: bool = True,
        compression: str = "zstd",
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # an object store has no rename: the final key, complete only when closed
        self.tmp = path if isinstance(path, RemotePath) else temp_path(path)
        self.schema = schema.with_metadata(kv)
        with naming(path):
            self.writer = parquet_writer(
                self.tmp, self.schema, compression=compression, use_dictionary=dictionary
            )

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if isinstance(batch, pa.RecordBatch):
            batch = pa.Table.from_batches([batch])
        with naming(self.path):
            self.writer.write_table(batch.cast(self.schema))

    def commit(self) -> None:
        with naming(self.path):
            self.writer.close()
            if self.tmp != self.path:
                commit(self.tmp, self.path)

    def abort(self) -> None:
        self.writer.close()
        discard(self.tmp)


def remove_temporaries(folders: list[AnyPath]) -> list[AnyPath]:
    """Delete what a killed run left half-written in ``folders`` (not recursive)."""
    removed = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if is_temporary(p):
                discard(p)
                removed.append(p)
    return removed
