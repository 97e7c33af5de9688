"""Reader options and the small checks every reader shares."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from metacurate.errors import InputError
from metacurate.pool.sources import Source

_MiB = 1 << 20


@dataclass(frozen=True)
class ReadOptions:
    """How to read pool files; the defaults suit the common layouts."""

    csv_columns: tuple[str, ...] | None = None  # names for a headerless CSV/TSV; None: header row
    batch_rows: int = 65_536
    wds_text_key: str = "txt"  # WebDataset: caption from this member extension...
    wds_json_field: str = "caption"  # ...else from this field of the .json member
    block_bytes: int = 16 * _MiB  # CSV/JSONL parse block; a line must fit in one block


def is_empty(source: Source) -> bool:
    return os.path.getsize(source.path) == 0


def project(schema: pa.Schema, columns: Sequence[str] | None, source: Source) -> list[str] | None:
    """Validate a projection against the file's columns; None means all columns."""
    if columns is None:
        return None
    names = schema.names
    missing = [c for c in columns if c not in names]
    if missing:
        found = ", ".join(names) if names else "(none)"
        raise InputError(
            f"{source.path}: no column {missing[0]!r}; columns found: {found}; "
            "pick one of those (e.g. --text-column NAME)"
        )
    return list(columns)
