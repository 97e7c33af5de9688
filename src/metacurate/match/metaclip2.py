"""The exact matcher of the Meta CLIP 2 modes ``metaclip2`` and ``metaclip2-kana``.

An entry matches when ``pad(entry, mode)`` (see ``scripts.py``) is a substring of
``spacing(text)``. Entries fall in two groups, matched by two exact methods whose id sets are
merged per row:

* **fully padded** (both edge characters need a space, e.g. ``dog``, ``New York``, ``42``): this
  is metaclip1 semantics, so a :class:`~metacurate.match.metaclip1.Metaclip1Matcher` over just
  these entries matches them (the token-span kernel of ``_native.c``);
* **half padded or unpadded** (an edge character is no-space, e.g. ``猫``, ``ข้าว``, ``C++``): a
  table of patterns and their *unit* prefixes, looked up from every separator unit of the
  spaced text (``_worldwide.c`` explains why that finds every occurrence and nothing else).

Both have a compiled kernel and a pure-Python fallback with identical results (tested against
the naive loop ``[i for i, e in enumerate(md) if pad(e, mode) in spacing(text)]``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from metacurate.errors import MetacurateError
from metacurate.kernel import calls, native_available
from metacurate.match.metaclip1 import (
    STATUS_EMPTY,
    STATUS_TEXT,
    BatchMatches,
    Metaclip1Matcher,
    as_arrow_text,
    write_index,
)
from metacurate.match.spacing import spacing
from metacurate.metadata.default import as_metadata
from metacurate.metadata.load import Metadata
from metacurate.scripts import (
    METACLIP2_MODES,
    no_space_set,
    pad,
    separator_tables,
    unit_regex,
)

INDEX_FORMAT = "metacurate-metaclip2-index"
INDEX_VERSION = 1
_TABLES = ("slots", "blob", "multi", "mask", "remap", "bmp", "astral")


def worldwide_kernel_available() -> bool:
    """True when both compiled kernels (``_native`` and ``_worldwide``) may be used."""
    return calls.WORLDWIDE_KERNEL_VERSION is not None and native_available()


def _require_kernel() -> None:
    if os.environ.get("METACURATE_REQUIRE_NATIVE", "") not in ("", "0") and (
        calls.WORLDWIDE_KERNEL_VERSION is None
    ):
        raise MetacurateError(
            "METACURATE_REQUIRE_NATIVE=1 but the compiled kernel metacurate.kernel._worldwide is "
            "missing; reinstall with a C compiler (gcc) available: pip install --force-reinstall ."
        )


def _check_unicode(metadata: Metadata) -> None:
    try:
        "\n".join(metadata.entries).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MetacurateError(
            f"metadata {metadata.name}: an entry is not valid Unicode ({exc}); fix or drop it"
        ) from None


def split_entries(entries: Sequence[str], mode: str) -> tuple[list[int], dict[str, list[int]]]:
    """Ids of the fully padded entries, and the other entries' patterns with their ids."""
    full: list[int] = []
    patterns: dict[str, list[int]] = {}
    ns = no_space_set(mode)  # inlined pad(): this loop runs over every entry of a language
    for i, e in enumerate(entries):
        left = bool(e) and e[0] in ns
        right = bool(e) and e[-1] in ns
        if not (left or right):
            full.append(i)
        else:
            key = ("" if left else " ") + e + ("" if right else " ")
            patterns.setdefault(key, []).append(i)
    return full, patterns


class Metaclip2Matcher(Metaclip1Matcher):
    """Exact matcher for one language's metadata under ``metaclip2`` or ``metaclip2-kana``.

    Made by ``Matcher(metadata, mode="metaclip2")``; same interface as the metaclip1 matcher.
    """

    def __init__(
        self,
        metadata: Metadata | Sequence[str] | str | Path,
        mode: str = "metaclip2",
        native: bool | None = None,
        _tables: dict[str, np.ndarray] | None = None,
    ) -> None:
        if mode not in METACLIP2_MODES:
            raise MetacurateError(f"Metaclip2Matcher needs one of {METACLIP2_MODES}, not {mode!r}")
        metadata = as_metadata(metadata)
        _require_kernel()
        if native is None:
            native = worldwide_kernel_available()
        elif native and not worldwide_kernel_available():
            raise MetacurateError(
                "the native metaclip2 matcher was not compiled; reinstall metacurate with gcc"
            )
        self.metadata = metadata
        self.n_entries = len(metadata)
        self.metadata_hash = metadata.hash
        self.mode = mode
        self.native = native
        _check_unicode(metadata)
        full, patterns = split_entries(metadata.entries, mode)
        padded = Metadata.from_list([metadata.entries[i] for i in full], name=metadata.name)
        self._padded = Metaclip1Matcher(padded, mode="metaclip1", native=native)
        self._remap = np.array(full, dtype=np.int32)
        if native:
            self._tables = _tables if _tables is not None else self._build_tables(patterns)
        else:
            self._unit_re = unit_regex(mode)
            self._pattern_ids = patterns
            self._prefixes = {
                "".join(units[:k])
                for p in patterns
                for units in [self._units(p)]
                for k in range(1, len(units))
            }

    # -- construction -------------------------------------------------------------------

    def _build_tables(self, patterns: dict[str, list[int]]) -> dict[str, np.ndarray]:
        ids = np.empty(len(patterns), dtype=np.int32)
        multi: list[int] = []
        for p, group in enumerate(patterns.values()):
            if len(group) == 1:
                ids[p] = group[0]
            else:
                ids[p] = -(len(multi) + 1)
                multi += [len(group), *group]
        try:
            arr = pa.array(list(patterns), type=pa.large_string())
        except (pa.ArrowInvalid, UnicodeEncodeError) as exc:
            raise MetacurateError(
                f"metadata {self.metadata.name}: an entry is not valid Unicode ({exc})"
            ) from None
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[: len(arr) + 1]
        data = arr.buffers()[2]
        blob = np.frombuffer(data, dtype=np.uint8) if data else np.zeros(0, np.uint8)
        bmp, astral = separator_tables(self.mode)
        what = f"metadata {self.metadata.name}"
        slots, mask = calls.unit_build(blob, offsets, ids, bmp, astral, what)
        return {
            "slots": np.frombuffer(slots, dtype=np.uint8),
            "blob": blob,
            "multi": np.array(multi, dtype=np.int32),
            "mask": np.array([mask], dtype=np.uint64),
            "remap": self._remap,
            "bmp": bmp,
            "astral": astral,
        }

    def _units(self, s: str) -> list[str]:
        return [m.group() for m in self._unit_re.finditer(s)]

    @property
    def nbytes(self) -> int:
        """Bytes held by the native tables (0 for the Python matcher)."""
        if not self.native:
            return 0
        return self._padded.nbytes + sum(a.nbytes for a in self._tables.values())

    # -- matching -----------------------------------------------------------------------

    def match(self, text: str | None) -> list[int]:
        """Ascending ids of the entries that match ``text`` (empty for ``None``)."""
        if text is None:
            return []
        if not self.native:
            return sorted(set(self._walk(spacing(text))) | set(self._full_ids(text)))
        return self.match_batch([text])[0].as_py()

    def match_arrow(self, texts: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> BatchMatches:
        """Match every text; ids ascending per row, with each row's status."""
        arr = as_arrow_text(texts)
        inner = self._padded.match_arrow(arr)
        offsets = inner.entry_ids.offsets.to_numpy()
        values = inner.entry_ids.values.to_numpy()[offsets[0] : offsets[-1]]
        offsets = (offsets - offsets[0]).astype(np.int32)
        if self.native:
            return self._match_native(arr, inner.status, offsets, values)
        return self._match_python(arr, inner.status, offsets, values)

    def _match_native(
        self, arr: pa.Array, status: np.ndarray, offsets: np.ndarray, values: np.ndarray
    ) -> BatchMatches:
        rows = calls.arrow_rows(arr)
        out_offsets, out_ids = calls.unit_match(self._tables, rows, status, offsets, values)
        entry_ids = pa.ListArray.from_arrays(
            pa.array(np.frombuffer(out_offsets, dtype=np.int32)),
            pa.array(np.frombuffer(out_ids, dtype=np.int32)),
        )
        return BatchMatches(entry_ids, status)

    def _walk(self, spaced: str) -> list[int]:
        """Ids of the half-padded and unpadded entries occurring in ``spaced``."""
        found: list[int] = []
        ms = list(self._unit_re.finditer(spaced))
        pattern_ids, prefixes = self._pattern_ids, self._prefixes
        for u, m in enumerate(ms):
            if m.group(1) is None:  # runs start only at separator units
                continue
            start = m.start()
            for k in range(u, len(ms)):
                span = spaced[start : ms[k].end()]
                ids = pattern_ids.get(span)
                if ids is not None:
                    found += ids
                if span not in prefixes:
                    break
        return found

    def _full_ids(self, text: str) -> list[int]:
        return [int(self._remap[i]) for i in self._padded.match(text)]

    def _match_python(
        self, arr: pa.Array, status: np.ndarray, offsets: np.ndarray, values: np.ndarray
    ) -> BatchMatches:
        raw = arr.cast(pa.large_binary()).to_pylist()
        out_offsets = [0]
        out: list[int] = []
        for r, b in enumerate(raw):
            if status[r] in (STATUS_TEXT, STATUS_EMPTY):
                found = set(self._walk(spacing(b.decode("utf-8"))))
                found.update(self._remap[values[offsets[r] : offsets[r + 1]]].tolist())
                out += sorted(found)
            out_offsets.append(len(out))
        entry_ids = pa.ListArray.from_arrays(
            pa.array(out_offsets, type=pa.int32()), pa.array(out, type=pa.int32())
        )
        return BatchMatches(entry_ids, status)

    # -- cache --------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write the tables as ``.npy`` files (memory-mappable) and ``index.json``."""
        if not self.native:
            raise MetacurateError("only the native matcher can be saved")
        return write_index(directory, self._write_files)

    def _write_files(self, tmp: Path) -> None:
        self._padded.save(tmp / "padded")
        for name, arr in self._tables.items():
            np.save(tmp / f"{name}.npy", arr, allow_pickle=False)
        (tmp / "index.json").write_text(json.dumps(self._index_info(), indent=1) + "\n")

    def _index_info(self) -> dict[str, object]:
        return {
            "format": INDEX_FORMAT,
            "version": INDEX_VERSION,
            "kernel_version": calls.WORLDWIDE_KERNEL_VERSION,
            "slot_size": calls.WORLDWIDE_SLOT_SIZE,
            "metadata_hash": self.metadata_hash,
            "entries": self.n_entries,
            "mode": self.mode,
            "padded_hash": self._padded.metadata_hash,
        }

    @classmethod
    def load(
        cls, directory: str | Path, metadata: Metadata | str, mode: str = "metaclip2"
    ) -> Metaclip2Matcher:
        """Memory-map tables written by :meth:`save`; ``metadata`` may be just its hash."""
        d = Path(directory)
        info = json.loads((d / "index.json").read_text())
        expected_hash = metadata if isinstance(metadata, str) else metadata.hash
        expected = {
            "format": INDEX_FORMAT,
            "version": INDEX_VERSION,
            "kernel_version": calls.WORLDWIDE_KERNEL_VERSION,
            "slot_size": calls.WORLDWIDE_SLOT_SIZE,
            "metadata_hash": expected_hash,
            "mode": mode,
        }
        for key, value in expected.items():
            if info.get(key) != value:
                raise MetacurateError(
                    f"{d}: matcher index has {key}={info.get(key)!r}, expected {value!r}; "
                    "delete the folder to rebuild it"
                )
        self = cls.__new__(cls)
        self.metadata = metadata if isinstance(metadata, Metadata) else None
        self.n_entries = int(info["entries"])
        self.metadata_hash = expected_hash
        self.mode = mode
        self.native = True
        self._padded = Metaclip1Matcher.load(d / "padded", str(info["padded_hash"]))
        self._tables = {
            name: np.load(d / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in _TABLES
        }
        self._remap = self._tables["remap"]
        return self


def naive_match(entries: Sequence[str], text: str | None, mode: str) -> list[int]:
    """The definition, one substring test per entry (slow; for checks and small lists)."""
    if text is None:
        return []
    s = spacing(text)
    return [i for i, e in enumerate(entries) if pad(e, mode) in s]


__all__ = [
    "INDEX_FORMAT",
    "Metaclip2Matcher",
    "naive_match",
    "split_entries",
    "worldwide_kernel_available",
]
