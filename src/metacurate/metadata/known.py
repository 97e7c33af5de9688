"""What loading a metadata file found, remembered in the cache folder, so that the next run
over the same bytes skips the parsing, the checks and the canonical encoding (0.48 s -> 0.02 s
for a 500k-entry ``metadata.json``, docs/performance.md).

A record is keyed by the sha256 of the file's bytes as stored and by how they are read
(``json`` or ``text``); it holds the entry count, the metadata hash, what the hygiene checks
found (duplicates, entries with an edge space), the sha256 of the entries' Arrow copy, and a
sha256 of its own fields. Beside it:

- ``<record>.arrow``: the entries as one Arrow string column (IPC file), read instead of
  parsing the file; used only when its sha256 is the recorded one and it holds the recorded
  number of entries, none null.
- ``<hash>.json``: the canonical encoding, the bytes of the run's ``metadata.json`` copy; used
  only when its sha256 is the metadata hash.

A record or copy that does not check out is ignored and written again: the file is then
loaded and checked in full, as without a cache. Writing the cache is best effort (a read-only
cache folder just costs the time).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pyarrow as pa

from metacurate.files import atomic_path, write_text

#: Bumped when a record's meaning changes (then old records are ignored).
RECORD_VERSION = 2


@dataclass(frozen=True)
class Known:
    """One metadata file as loading found it."""

    source_sha256: str  # of the file's bytes as stored (gzip included)
    kind: str  # "json" or "text": how the bytes were read
    entries: int
    hash: str  # the metadata hash (sha256 of the canonical encoding)
    duplicates: int
    edged: int  # entries that start or end with a space
    edged_first: str | None  # the first of them, for the warning
    arrow_sha256: str | None = None  # of the entries' Arrow copy; None: there is none

    def _fields(self) -> dict:
        return {"version": RECORD_VERSION, **asdict(self)}

    def checksum(self) -> str:
        text = json.dumps(self._fields(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _folder(root: Path) -> Path:
    return Path(root) / "metadata"


def _record_path(root: Path, source_sha256: str, kind: str) -> Path:
    return _folder(root) / f"{source_sha256[:32]}-{kind}-v{RECORD_VERSION}.json"


def entries_path(root: Path, source_sha256: str, kind: str) -> Path:
    """Where the Arrow copy of the entries of these bytes, read as ``kind``, is kept."""
    return _record_path(root, source_sha256, kind).with_suffix(".arrow")


def recall(root: Path, source_sha256: str, kind: str) -> Known | None:
    """The record of these bytes read as ``kind``, or None (absent, damaged, another
    version)."""
    try:
        data = json.loads(_record_path(root, source_sha256, kind).read_text(encoding="utf-8"))
        check = data.pop("check")
        if data.pop("version") != RECORD_VERSION:
            return None
        known = Known(**data)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if check != known.checksum() or (known.source_sha256, known.kind) != (source_sha256, kind):
        return None
    return known


def remember(root: Path, known: Known, canonical: str, entries: pa.Array | None) -> None:
    """Store the record, the entries' Arrow copy (when given) and the canonical encoding
    (best effort)."""
    try:
        _folder(root).mkdir(parents=True, exist_ok=True)
        copy = canonical_path(root, known.hash)
        if not copy.exists():
            write_text(copy, canonical)
        if entries is not None:
            data = _ipc_bytes(entries)
            with atomic_path(entries_path(root, known.source_sha256, known.kind)) as tmp:
                tmp.write_bytes(data)
            known = replace(known, arrow_sha256=hashlib.sha256(data).hexdigest())
        record = {**known._fields(), "check": known.checksum()}
        write_text(_record_path(root, known.source_sha256, known.kind), json.dumps(record))
    except OSError:
        pass


def _ipc_bytes(entries: pa.Array) -> bytes:
    sink = pa.BufferOutputStream()
    table = pa.table({"entry": entries})
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def recall_entries(root: Path, known: Known) -> pa.Array | None:
    """The entries' Arrow copy of ``known`` when it checks out (its sha256, the entry count,
    no nulls), else None."""
    if known.arrow_sha256 is None:
        return None
    try:
        data = entries_path(root, known.source_sha256, known.kind).read_bytes()
        if hashlib.sha256(data).hexdigest() != known.arrow_sha256:
            return None
        table = pa.ipc.open_file(pa.py_buffer(data)).read_all()
    except (OSError, pa.ArrowException):
        return None
    if table.schema != pa.schema([("entry", pa.string())]) or table.num_rows != known.entries:
        return None
    column = table.column(0).combine_chunks()
    return column if column.null_count == 0 else None


def canonical_path(root: Path, metadata_hash: str) -> Path:
    """Where the canonical encoding of the metadata with this hash is kept."""
    return _folder(root) / f"{metadata_hash}.json"


def canonical_bytes(root: Path, metadata_hash: str) -> bytes | None:
    """The kept canonical encoding, UTF-8, when its sha256 is ``metadata_hash``, else None."""
    try:
        raw = canonical_path(root, metadata_hash).read_bytes()
    except OSError:
        return None
    return raw if hashlib.sha256(raw).hexdigest() == metadata_hash else None


def canonical_text(root: Path, metadata_hash: str) -> str | None:
    """:func:`canonical_bytes`, decoded."""
    raw = canonical_bytes(root, metadata_hash)
    return None if raw is None else raw.decode("utf-8")
