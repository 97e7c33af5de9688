"""Reading and writing a file wherever it is: ``pathlib.Path`` for local paths (exactly the
calls metacurate always made: the fast path), ``RemotePath`` through its ``pyarrow.fs`` file
system otherwise. Every module that touches a work folder, an output folder or a pool file goes
through these few functions (or the ``Path``-like methods both kinds share)."""

from __future__ import annotations

import lzma
import os
from pathlib import Path
from typing import IO, Any, Union

import pyarrow as pa
import pyarrow.parquet as pq

from metacurate.storage.remote import RemotePath

#: A local or remote file or folder.
AnyPath = Union[Path, RemotePath]  # noqa: UP007 - a runtime alias, py3.10 safe


def is_remote(path: str | os.PathLike | RemotePath) -> bool:
    """True for ``scheme://...`` (other than ``file://``) and for a ``RemotePath``."""
    if isinstance(path, RemotePath):
        return True
    if not isinstance(path, str):
        return False
    scheme, sep, _ = path.partition("://")
    return bool(sep) and scheme.isidentifier() and scheme.lower() != "file"


def location(path: str | os.PathLike | RemotePath, endpoint: str | None = None) -> AnyPath:
    """``path`` as a ``Path`` (local, ``file://`` stripped) or a ``RemotePath``."""
    if isinstance(path, (Path, RemotePath)):
        return path
    text = os.fspath(path)
    if is_remote(text):
        return RemotePath(text, endpoint)
    return Path(text.removeprefix("file://"))


def portable(path: AnyPath) -> str | RemotePath:
    """What a task spec carries: a local path as a string, a remote one as itself (it
    pickles with its endpoint)."""
    return path if isinstance(path, RemotePath) else str(path)


def read_table(path: AnyPath, columns: list[str] | None = None) -> pa.Table:
    """One Parquet file, whole or some ``columns``. Through ``ParquetFile``, not
    ``pq.read_table``: the latter imports ``pyarrow.dataset`` (and with it pandas), 0.2-1 s of
    CPU per process for nothing when the path is one file (measured, docs/performance.md)."""
    with parquet_file(path) as pf:
        return pf.read(columns=columns)


def read_schema(path: AnyPath) -> pa.Schema:
    if isinstance(path, RemotePath):
        return pq.read_schema(path.fs_path, filesystem=path.fs)
    return pq.read_schema(path)


def parquet_file(path: AnyPath, **kwargs: Any) -> pq.ParquetFile:
    """A ``ParquetFile`` (use it as a context manager: it closes what it opened)."""
    if isinstance(path, RemotePath):
        return pq.ParquetFile(path.fs_path, filesystem=path.fs, **kwargs)
    return pq.ParquetFile(path, **kwargs)


def write_table(table: pa.Table, path: AnyPath, **kwargs: Any) -> None:
    if isinstance(path, RemotePath):
        pq.write_table(table, path.fs_path, filesystem=path.fs, **kwargs)
    else:
        pq.write_table(table, path, **kwargs)


def parquet_writer(path: AnyPath, schema: pa.Schema, **kwargs: Any) -> pq.ParquetWriter:
    if isinstance(path, RemotePath):
        return pq.ParquetWriter(path.fs_path, schema, filesystem=path.fs, **kwargs)
    return pq.ParquetWriter(path, schema, **kwargs)


def open_output(path: AnyPath) -> IO[bytes] | pa.NativeFile:
    """A binary output stream (use it as a context manager)."""
    if isinstance(path, RemotePath):
        return path.open_output_stream()
    return open(path, "wb")


def open_input(path: str, endpoint: str | None = None) -> IO[bytes] | pa.NativeFile:
    """A binary input stream on a pool file, local or remote."""
    where = location(path, endpoint)
    if isinstance(where, RemotePath):
        return where.open_input_stream()
    return open(where, "rb")


def input_stream(path: str, endpoint: str | None = None) -> pa.NativeFile:
    """An Arrow input stream, decompressed by the file name's extension (``.gz``, ``.bz2``,
    ``.zst``, ``.lz4`` by Arrow; ``.xz`` by Python's lzma)."""
    where = location(path, endpoint)
    if str(path).lower().endswith(".xz"):
        raw = (
            where.open_input_stream()
            if isinstance(where, RemotePath)
            else pa.input_stream(str(where))
        )
        return pa.PythonFile(lzma.LZMAFile(raw), mode="r")
    if isinstance(where, RemotePath):
        return where.open_input_stream(compression="detect")
    return pa.input_stream(str(where), compression="detect")


#: Endings of compressed files (a compressed Parquet file is decompressed into memory).
COMPRESSED = (".gz", ".bz2", ".zst", ".xz", ".lz4")


def pool_parquet(path: str, endpoint: str | None = None, **kwargs: Any) -> pq.ParquetFile:
    """A pool file as a ``ParquetFile`` (local or remote); a compressed one (``.parquet.gz``)
    is decompressed into memory first, since Parquet is read by seeking."""
    if str(path).lower().endswith(COMPRESSED):
        with input_stream(path, endpoint) as f:
            data = f.read()
        kwargs.pop("buffer_size", None)
        return pq.ParquetFile(pa.BufferReader(data), **kwargs)
    return parquet_file(location(path, endpoint), **kwargs)


def file_stat(path: str, endpoint: str | None = None) -> os.stat_result | Any:
    """``st_size`` and ``st_mtime_ns`` of a file (``OSError`` when it is not there)."""
    return location(path, endpoint).stat()


def rmtree(path: AnyPath) -> None:
    """Delete a folder and its contents (nothing when absent)."""
    if isinstance(path, RemotePath):
        path.rmtree()
        return
    import shutil

    shutil.rmtree(path, ignore_errors=True)
