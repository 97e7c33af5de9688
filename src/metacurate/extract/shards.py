"""The extract output's shards: their schema and the writer of ``part-NNNNN.parquet`` files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

FORMAT_VERSION = 1
SHARD_PATTERN = "part-{:05d}.parquet"
DEFAULT_SHARD_ROWS = 100_000


def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("metacurate")
    except Exception:  # not installed (running from a checkout)
        return "unknown"


def output_schema(lid: bool) -> pa.Schema:
    """Columns of the shards; `lang` only with language identification."""
    fields = [
        pa.field("uid", pa.string()),
        pa.field("url", pa.string()),
        pa.field("text", pa.string()),
        pa.field("text_source", pa.string()),
        pa.field("page_url", pa.string()),
        pa.field("warc_file", pa.string()),
        pa.field("record_offset", pa.int64()),
    ]
    if lid:
        fields.append(pa.field("lang", pa.string()))
    meta = {"format_version": FORMAT_VERSION, "tool": "metacurate extract"}
    meta["package_version"] = package_version()
    return pa.schema(fields, metadata={"metacurate": json.dumps(meta, sort_keys=True)})


class ShardWriter:
    """Buffers rows and writes `part-NNNNN.parquet` shards via a temporary name + atomic rename."""

    def __init__(self, out_dir: Path, schema: pa.Schema, shard_rows: int) -> None:
        self.out_dir = out_dir
        self.schema = schema
        self.shard_rows = shard_rows
        self.shards: list[dict[str, Any]] = []
        self._columns: dict[str, list[Any]] = {name: [] for name in schema.names}

    def add(self, row: dict[str, Any]) -> None:
        for name, values in self._columns.items():
            values.append(row[name])
        if len(self._columns["uid"]) >= self.shard_rows:
            self.flush()

    def flush(self, force: bool = False) -> None:
        """Write buffered rows as the next shard (`force`: even if empty, so a run leaves one)."""
        rows = len(self._columns["uid"])
        if rows == 0 and not force:
            return
        table = pa.table(self._columns, schema=self.schema)
        name = SHARD_PATTERN.format(len(self.shards))
        tmp = self.out_dir / f".{name}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, self.out_dir / name)
        self.shards.append({"file": name, "rows": rows})
        self._columns = {name: [] for name in self.schema.names}

    def close(self) -> None:
        self.flush(force=not self.shards)
