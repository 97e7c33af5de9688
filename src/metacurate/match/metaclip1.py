"""The exact matcher of mode ``metaclip1`` (:class:`Metaclip1Matcher`), and what every mode's
matcher shares: the row status codes, :class:`BatchMatches`, :func:`as_arrow_text`.

The public entry is :class:`~metacurate.match.matcher.Matcher` (``matcher.py``), which picks
this class or :class:`~metacurate.match.metaclip2.Metaclip2Matcher` (a subclass, same
interface) by mode.

Both implementations use the same idea (see ``_native.c`` for why it is exact): split
``spacing(text)`` into space-separated tokens and look up growing token spans in a table of
entries and entry prefixes. The native kernel does it on Arrow buffers with no Python object
per caption; the pure-Python one is the fallback when the kernel is not compiled, and the
tests hold both to the naive loop of semantics.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from metacurate.errors import MetacurateError
from metacurate.files import commit, discard, temp_path
from metacurate.kernel import calls, native_available, tables
from metacurate.match.spacing import spacing
from metacurate.metadata.default import as_metadata
from metacurate.metadata.load import Metadata

MODES = ("metaclip1", "metaclip2", "metaclip2-kana")
INDEX_FORMAT = "metacurate-span-index"
INDEX_VERSION = 1

#: Row status codes returned with every batch (counted by reason in the stats).
STATUS_TEXT, STATUS_NULL, STATUS_EMPTY, STATUS_INVALID_UTF8 = 0, 1, 2, 3
STATUS_NAMES = {
    STATUS_TEXT: "text",
    STATUS_NULL: "null",
    STATUS_EMPTY: "empty",
    STATUS_INVALID_UTF8: "invalid_utf8",
}


@dataclass(frozen=True)
class BatchMatches:
    """Matches of one batch: ``entry_ids`` (list<int32>, ascending) and a per-row status."""

    entry_ids: pa.ListArray
    status: np.ndarray  # uint8, one of the STATUS_* codes


def _int32s(data: bytes) -> pa.Array:
    """The kernel's int32 output as an Arrow array, without a copy (``pa.array`` of a numpy
    array would also import ``numpy.ma``: 6 ms in each process's first task)."""
    return pa.Array.from_buffers(pa.int32(), len(data) // 4, [None, pa.py_buffer(data)])


def as_arrow_text(texts: pa.Array | pa.ChunkedArray | Sequence[str | bytes | None]) -> pa.Array:
    """Texts as one Arrow (large_)string or (large_)binary array."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
    if isinstance(texts, pa.Array):
        t = texts.type
        if pa.types.is_null(t):
            return pa.nulls(len(texts), pa.string())
        if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
            return texts.cast(pa.large_binary())
        if not (
            pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_binary(t)
            or pa.types.is_large_binary(t)
        ):
            raise MetacurateError(f"text column has type {t}; expected strings")
        return texts
    if isinstance(texts, str):
        raise TypeError("match_batch expects a sequence of texts, not one str; use match()")
    items = list(texts)
    try:
        return pa.array(items, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        # Strings Arrow refuses (lone surrogates) become bytes and are flagged invalid_utf8.
        return pa.array(
            [x.encode("utf-8", "surrogatepass") if isinstance(x, str) else x for x in items],
            type=pa.binary(),
        )


def write_index(directory: str | Path, fill: Callable[[Path], None]) -> Path:
    """The one index writer (both matchers' ``save``): ``fill(tmp)`` writes the folder's files
    (``index.json`` among them) into a temporary folder beside ``directory``, which is then
    fsynced and renamed into place. A failure removes the temporary folder; when another
    process committed the same index first, its folder (identical) stays and this one goes."""
    d = Path(directory)
    d.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(d)
    tmp.mkdir()
    try:
        fill(tmp)
    except BaseException:  # a full disk, an interrupt: no half-written folder is left
        discard(tmp)
        raise
    try:
        commit(tmp, d)
    except OSError:  # another process won the race: theirs is identical
        discard(tmp)
        if not (d / "index.json").exists():
            raise
    return d


class Metaclip1Matcher:
    """Exact substring matcher for one metadata list (mode ``metaclip1``).

    ``metadata``: a ``Metadata``, a list of strings, or a path (``str`` / ``Path``; the string
    ``"default"`` is the built-in list). ``native=None`` uses the compiled kernel when
    available, ``False`` forces the pure-Python matcher (same results, slower).
    """

    def __init__(
        self,
        metadata: Metadata | Sequence[str] | str | Path,
        mode: str = "metaclip1",
        native: bool | None = None,
        _tables: dict[str, np.ndarray] | None = None,
    ) -> None:
        if mode not in MODES:
            raise MetacurateError(f"unknown matching mode {mode!r}; available: {', '.join(MODES)}")
        if mode != "metaclip1":
            raise MetacurateError(
                f"Metaclip1Matcher matches mode metaclip1 only; Matcher(metadata, mode={mode!r}) "
                "picks the matcher of a mode"
            )
        metadata = as_metadata(metadata)
        self.metadata: Metadata | None = metadata
        self.n_entries = len(metadata)
        self.metadata_hash = metadata.hash
        self.mode = mode
        if native is None:
            native = native_available()
        elif native and calls.KERNEL_VERSION is None:  # not compiled
            raise MetacurateError(
                "the native matcher was not compiled; reinstall metacurate with gcc available"
            )
        self.native = native
        if native:
            self._tables = _tables if _tables is not None else self._build_native()
        else:
            self._entries, self._prefixes = self._build_python()

    # -- construction -------------------------------------------------------------------

    def _entry_blob(self) -> tuple[np.ndarray, np.ndarray]:
        try:
            arr = pa.array(self.metadata.entries, type=pa.large_string())
        except (pa.ArrowInvalid, UnicodeEncodeError) as exc:
            raise MetacurateError(
                f"metadata {self.metadata.name}: an entry is not valid Unicode ({exc})"
            ) from None
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[: len(arr) + 1]
        data_buf = arr.buffers()[2]
        data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf else np.zeros(0, np.uint8)
        return data, offsets

    def _build_native(self) -> dict[str, np.ndarray]:
        blob, offsets = self._entry_blob()
        slots, tags, ids, mask = calls.span_build(blob, offsets, f"metadata {self.metadata.name}")
        return {
            "slots": np.frombuffer(slots, dtype=np.uint8),
            "tags": np.frombuffer(tags, dtype=np.uint16),
            "ids": np.frombuffer(ids, dtype=np.int32),
            "blob": blob,
            "mask": np.array([mask], dtype=np.uint64),
        }

    def _build_python(self) -> tuple[dict[str, list[int]], set[str]]:
        entries: dict[str, list[int]] = {}
        prefixes: set[str] = set()
        for entry_id, entry in enumerate(self.metadata.entries):
            entries.setdefault(entry, []).append(entry_id)
            tokens = entry.split(" ")
            for k in range(1, len(tokens)):
                prefixes.add(" ".join(tokens[:k]))
        return entries, prefixes

    @property
    def nbytes(self) -> int:
        """Bytes held by the native tables (0 for the Python matcher)."""
        return sum(a.nbytes for a in self._tables.values()) if self.native else 0

    # -- matching -----------------------------------------------------------------------

    def match(self, text: str | None) -> list[int]:
        """Ascending ids of the entries that match ``text`` (empty for ``None``)."""
        if text is None:
            return []
        if not self.native:
            return self._match_python(text)
        return self.match_batch([text])[0].as_py()

    def match_batch(self, texts: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.ListArray:
        """Match every text; one ascending list of int32 ids per row, nulls give ``[]``."""
        return self.match_arrow(texts).entry_ids

    def match_arrow(self, texts: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> BatchMatches:
        """Like ``match_batch`` but also returns each row's status (text/null/empty/invalid)."""
        arr = as_arrow_text(texts)
        if self.native:
            return self._match_native(arr)
        return self._match_python_batch(arr)

    def _match_native(self, arr: pa.Array) -> BatchMatches:
        rows = calls.arrow_rows(arr)
        out_offsets, out_ids, status = calls.span_match(self._tables, self.n_entries, rows)
        entry_ids = pa.ListArray.from_arrays(_int32s(out_offsets), _int32s(out_ids))
        return BatchMatches(entry_ids, np.frombuffer(status, dtype=np.uint8))

    def _match_python(self, text: str) -> list[int]:
        tokens = spacing(text)[1:-1].split(" ")
        entries, prefixes = self._entries, self._prefixes
        found: set[int] = set()
        n = len(tokens)
        for j in range(n):
            span = tokens[j]
            k = j
            while True:
                ids = entries.get(span)
                if ids is not None:
                    found.update(ids)
                k += 1
                if k == n or span not in prefixes:
                    break
                span = span + " " + tokens[k]
        return sorted(found)

    def _match_python_batch(self, arr: pa.Array) -> BatchMatches:
        binary = arr.cast(pa.large_binary())
        offsets = [0]
        values: list[int] = []
        status = np.zeros(len(arr), dtype=np.uint8)
        for i, raw in enumerate(binary.to_pylist()):
            if raw is None:
                status[i] = STATUS_NULL
            else:
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    status[i] = STATUS_INVALID_UTF8
                else:
                    status[i] = STATUS_TEXT if text else STATUS_EMPTY
                    values.extend(self._match_python(text))
            offsets.append(len(values))
        entry_ids = pa.ListArray.from_arrays(
            pa.array(offsets, type=pa.int32()), pa.array(values, type=pa.int32())
        )
        return BatchMatches(entry_ids, status)

    # -- cache --------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write the native tables as ``.npy`` files (safe to load, memory-mappable)."""
        if not self.native:
            raise MetacurateError("only the native matcher can be saved")
        return write_index(directory, self._write_tables)

    def _write_tables(self, tmp: Path) -> None:
        for name, arr in self._tables.items():
            np.save(tmp / f"{name}.npy", arr, allow_pickle=False)
        info = {
            "format": INDEX_FORMAT,
            "version": INDEX_VERSION,
            "kernel_version": calls.KERNEL_VERSION,
            "slot_size": calls.SLOT_SIZE,
            "metadata_hash": self.metadata_hash,
            "entries": self.n_entries,
            "mode": self.mode,
            "tables": tables.describe(self._tables),
        }
        (tmp / "index.json").write_text(json.dumps(info, indent=1) + "\n")

    @classmethod
    def load(
        cls,
        directory: str | Path,
        metadata: Metadata | str,
        mode: str = "metaclip1",
        verify: bool = True,
    ) -> Metaclip1Matcher:
        """Memory-map tables written by ``save`` (shared by every process that maps them).

        ``metadata`` is the ``Metadata`` or just its hash: the native tables do not need the
        entry list, so workers need not load it. The tables are checked first (recorded
        sha256, shapes, the kernel's ``validate``): a damaged index raises ``MetacurateError``
        and is never matched with. ``verify=False`` checks shapes and sizes only: for a worker
        mapping an index its driver verified in full this run (``match.index_cache``).
        """
        d = Path(directory)
        expected_hash = metadata if isinstance(metadata, str) else metadata.hash
        n_entries = None if isinstance(metadata, str) else len(metadata)
        info = _read_info(d, expected_hash, mode, n_entries)
        n_entries = info["entries"]
        mapped = tables.load(d, info.get("tables"), n_entries, full=verify)
        if isinstance(metadata, Metadata):
            return cls(metadata, mode=mode, native=True, _tables=mapped)
        self = cls.__new__(cls)
        self.metadata = None
        self.n_entries = n_entries
        self.metadata_hash = expected_hash
        self.mode = mode
        self.native = True
        self._tables = mapped
        return self


def _read_info(d: Path, metadata_hash: str, mode: str, n_entries: int | None) -> dict:
    """``index.json`` of ``d``, checked against what this kernel and metadata expect."""
    try:
        info = json.loads((d / "index.json").read_text())
    except (OSError, ValueError) as exc:
        raise MetacurateError(f"{d}: cannot read index.json ({exc}); delete the folder") from None
    if not isinstance(info, dict):
        raise MetacurateError(f"{d}: index.json is not an object; delete the folder")
    expected = {
        "format": INDEX_FORMAT,
        "version": INDEX_VERSION,
        "kernel_version": calls.KERNEL_VERSION,
        "slot_size": calls.SLOT_SIZE,
        "metadata_hash": metadata_hash,
        "mode": mode,
    }
    if n_entries is not None:
        expected["entries"] = n_entries
    for key, value in expected.items():
        if info.get(key) != value:
            raise MetacurateError(
                f"{d}: matcher index has {key}={info.get(key)!r}, expected {value!r}; "
                "delete the folder to rebuild it"
            )
    entries = info.get("entries")
    if isinstance(entries, bool) or not isinstance(entries, int) or entries < 0:
        raise MetacurateError(f"{d}: index.json has no valid entry count; delete the folder")
    return info
