"""Completion records: what makes a task's outputs current.

A task writes its record last, after its outputs are renamed into place; the record names
those outputs (paths relative to the work folder) with their size and a digest of their last
bytes (a Parquet file's footer: its schema, row groups and offsets). A record is current only
while every output it names is there with that size and digest: a file deleted, truncated or
damaged at its end (an interrupted copy, a disk error) makes its task run again. A record
that cannot be read (truncated, not JSON) is no record: its task runs again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from metacurate.storage import AnyPath, RemotePath

#: Bytes at the end of an output that its digest covers (a Parquet footer is within them
#: for the files metacurate writes).
TAIL_BYTES = 1 << 16


def _tail(path: AnyPath, size: int) -> bytes:
    n = min(size, TAIL_BYTES)
    if isinstance(path, RemotePath):
        with path.open_input_file() as f:
            f.seek(size - n)
            return f.read(n)
    with open(path, "rb") as f:
        f.seek(size - n)
        return f.read(n)


def stamp(path: AnyPath) -> dict[str, int | str]:
    """Size and digest of the last :data:`TAIL_BYTES` of ``path``."""
    size = path.stat().st_size
    return {"size": size, "tail_sha256": hashlib.sha256(_tail(path, size)).hexdigest()[:16]}


def stamp_outputs(root: AnyPath, outputs: list[AnyPath]) -> dict[str, dict]:
    """What a record says of its ``outputs`` (keyed by their path relative to ``root``)."""
    return {_relative(p, root): stamp(p) for p in outputs}


def outputs_intact(root: AnyPath, record: Mapping) -> bool:
    """True when every output the record names is there as recorded; a record without
    ``outputs`` (an older format) is never current."""
    outputs = record.get("outputs")
    if not isinstance(outputs, dict):
        return False
    for name, want in outputs.items():
        try:
            if stamp(root / name) != want:
                return False
        except OSError:
            return False
    return True


def read_record(path: AnyPath) -> dict | None:
    """The record at ``path``; None when it is missing or cannot be read whole."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _relative(path: AnyPath, root: AnyPath) -> str:
    if isinstance(path, RemotePath):
        return path.relative_to(root)
    return path.relative_to(root).as_posix()
