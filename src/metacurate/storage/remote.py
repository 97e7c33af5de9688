"""``RemotePath``: the part of ``pathlib.Path`` metacurate uses, on an object store or a remote
file system reached through ``pyarrow.fs`` (S3 and S3-compatible stores, GCS, HDFS, Azure) or
``fsspec`` (anything else it knows).

Local paths stay ``pathlib.Path`` (the fast path, unchanged); only a path with a scheme
(``s3://bucket/key``) becomes a ``RemotePath``. It pickles without its file-system object
(rebuilt on first use in the worker), so tasks carry it to other processes and Ray nodes.

On object stores there are no folders and no rename: ``mkdir`` does nothing, a folder exists
when some object's key starts with it, and writes go straight to the final key (see
``files.atomic_path`` and docs/storage.md for what that means for a killed run).
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from metacurate.storage.filesystems import OBJECT_STORES, open_filesystem, split_uri


@dataclass(frozen=True)
class RemoteStat:
    """What ``os.stat`` would say that metacurate reads: size and modification time."""

    st_size: int
    st_mtime_ns: int


class RemotePath:
    """A file or folder at ``scheme://authority/key`` (``endpoint`` for S3-compatible
    stores: None takes ``AWS_ENDPOINT_URL`` or AWS itself)."""

    def __init__(
        self, uri: str, endpoint: str | None = None, _fs: pafs.FileSystem | None = None
    ) -> None:
        self.scheme, self.authority, rest = split_uri(uri)
        self.key = posixpath.normpath("/" + rest).lstrip("/") if rest else ""
        self.endpoint = endpoint
        self._fs = _fs

    # -- identity ---------------------------------------------------------------------

    def __str__(self) -> str:
        tail = f"/{self.key}" if self.key else ""
        return f"{self.scheme}://{self.authority}{tail}"

    def __repr__(self) -> str:
        return f"RemotePath({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and (str(self), self.endpoint) == (
            str(other),
            other.endpoint,
        )

    def __hash__(self) -> int:
        return hash((str(self), self.endpoint))

    def __getstate__(self) -> dict[str, Any]:
        return {"uri": str(self), "endpoint": self.endpoint}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["uri"], state["endpoint"])  # type: ignore[misc]

    # -- the file system ----------------------------------------------------------------

    @property
    def fs(self) -> pafs.FileSystem:
        if self._fs is None:
            self._fs = open_filesystem(self.scheme, self.authority, self.endpoint)
        return self._fs

    @property
    def fs_path(self) -> str:
        """The path the file-system object takes (``bucket/key`` on object stores)."""
        if self.scheme == "hdfs":  # host:port is the file system, the key its path
            return "/" + self.key
        return f"{self.authority}/{self.key}" if self.key else self.authority

    def _child(self, key: str) -> RemotePath:
        return RemotePath(f"{self.scheme}://{self.authority}/{key}", self.endpoint, self._fs)

    # -- pure path operations -----------------------------------------------------------

    def __truediv__(self, name: str) -> RemotePath:
        return self._child(posixpath.join(self.key, str(name)) if self.key else str(name))

    @property
    def name(self) -> str:
        return posixpath.basename(self.key)

    @property
    def suffix(self) -> str:
        return posixpath.splitext(self.name)[1]

    @property
    def stem(self) -> str:
        name = self.name
        return name[: len(name) - len(self.suffix)] if self.suffix else name

    @property
    def parent(self) -> RemotePath:
        return self._child(posixpath.dirname(self.key))

    def with_name(self, name: str) -> RemotePath:
        return self.parent / name

    def relative_to(self, other: RemotePath) -> str:
        return posixpath.relpath(self.key, other.key or ".")

    # -- queries ------------------------------------------------------------------------

    def info(self) -> pafs.FileInfo:
        return self.fs.get_file_info(self.fs_path)

    def exists(self) -> bool:
        return self.info().type != pafs.FileType.NotFound

    def is_dir(self) -> bool:
        return self.info().type == pafs.FileType.Directory

    def is_file(self) -> bool:
        return self.info().type == pafs.FileType.File

    def stat(self) -> RemoteStat:
        info = self.info()
        if info.type == pafs.FileType.NotFound:
            raise FileNotFoundError(2, "No such file or directory", str(self))
        return RemoteStat(info.size or 0, info.mtime_ns or 0)

    def _listing(self, recursive: bool) -> list[pafs.FileInfo]:
        selector = pafs.FileSelector(self.fs_path, allow_not_found=True, recursive=recursive)
        return self.fs.get_file_info(selector)

    def _from_info(self, info: pafs.FileInfo) -> RemotePath:
        rel = posixpath.relpath(info.path, self.fs_path)
        return self / rel

    def iterdir(self) -> Iterator[RemotePath]:
        for info in sorted(self._listing(False), key=lambda i: i.path):
            yield self._from_info(info)

    def glob(self, pattern: str) -> Iterator[RemotePath]:
        """Children whose name matches ``pattern`` (one level, as metacurate uses it)."""
        for child in self.iterdir():
            if fnmatch.fnmatchcase(child.name, pattern):
                yield child

    def walk_files(self) -> list[tuple[str, RemotePath]]:
        """Every file below this folder as ``(relative key, path)``, sorted."""
        found = [
            (posixpath.relpath(i.path, self.fs_path), self._from_info(i))
            for i in self._listing(True)
            if i.type == pafs.FileType.File
        ]
        return sorted(found, key=lambda pair: pair[0])

    # -- changes ------------------------------------------------------------------------

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Folders are implicit on object stores; elsewhere created (with parents)."""
        if self.scheme not in OBJECT_STORES:
            self.fs.create_dir(self.fs_path, recursive=True)

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self.fs.delete_file(self.fs_path)
        except FileNotFoundError:
            if not missing_ok:
                raise
        except OSError:
            if not (missing_ok and not self.exists()):
                raise

    def rmtree(self) -> None:
        """Delete this folder and everything under it (nothing when absent)."""
        if self.is_dir():
            self.fs.delete_dir(self.fs_path)

    # -- contents -----------------------------------------------------------------------

    def open_input_file(self) -> pa.NativeFile:
        return self.fs.open_input_file(self.fs_path)

    def open_input_stream(self, compression: str | None = None) -> pa.NativeFile:
        return self.fs.open_input_stream(self.fs_path, compression=compression)

    def open_output_stream(self) -> pa.NativeFile:
        return self.fs.open_output_stream(self.fs_path)

    def read_bytes(self) -> bytes:
        with self.open_input_stream() as f:
            return f.read()

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> int:
        with self.open_output_stream() as f:
            f.write(data)
        return len(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> int:
        return self.write_bytes(text.encode(encoding))
