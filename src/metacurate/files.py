"""The one atomic-write helper: a temporary name in the same folder, fsync, rename.

Every file metacurate writes goes through :func:`atomic_path` (or :class:`ParquetSink`, which
uses the same temporary names), so a reader sees either the old file or the whole new one, and
a killed run leaves only temporaries, which :func:`remove_temporaries` deletes on the next run.
Temporary names are ``.NAME.tmp-PID-RANDOM``: they start with a dot (pyarrow and pandas skip
them when reading a folder) and cannot be confused with a file metacurate finishes.
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
import pyarrow.parquet as pq

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


def discard(tmp: Path) -> None:
    """Remove a temporary file or folder, if it is there."""
    if tmp.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it is
    removed. The parent folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        commit(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj: Any, compact: bool = False) -> None:
    """JSON with sorted keys (equal content, equal bytes); ``compact`` for big lists. Refuses
    NaN and infinities, which are not JSON."""
    if compact:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    else:
        text = json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
    write_text(path, text + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_parquet(path: str | Path, table: pa.Table, kv: dict[bytes, bytes]) -> None:
    """A whole table, zstd, with self-describing schema metadata."""
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(kv), tmp, compression="zstd")


def save_npy(path: str | Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, arr, allow_pickle=False)


class ParquetSink:
    """Streaming Parquet writer to a temporary name; :meth:`commit` renames it into place.

    ``dictionary=False`` for columns of unique values, where dictionary encoding only costs
    time."""

    def __init__(
        self, path: Path, schema: pa.Schema, kv: dict[bytes, bytes], dictionary: bool = True
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.tmp = temp_path(path)
        self.schema = schema.with_metadata(kv)
        self.writer = pq.ParquetWriter(
            self.tmp, self.schema, compression="zstd", use_dictionary=dictionary
        )

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if isinstance(batch, pa.RecordBatch):
            batch = pa.Table.from_batches([batch])
        self.writer.write_table(batch.cast(self.schema))

    def commit(self) -> None:
        self.writer.close()
        commit(self.tmp, self.path)

    def abort(self) -> None:
        self.writer.close()
        discard(self.tmp)


def remove_temporaries(folders: list[Path]) -> list[Path]:
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
