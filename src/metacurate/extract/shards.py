"""The extract output's shards: their schema and the writer of ``part-NNNNN.parquet`` files."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from metacurate.storage import AnyPath, write_table

FORMAT_VERSION = 1
SHARD_PATTERN = "part-{:05d}.parquet"
DEFAULT_SHARD_ROWS = 100_000


@functools.cache
def package_version() -> str:
    """The installed metacurate's version ("unknown" from a checkout), looked up once (a
    metadata scan of the path, ~0.5 ms, otherwise paid at each part and shard schema)."""
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

    def __init__(self, out_dir: AnyPath, schema: pa.Schema, shard_rows: int) -> None:
        self.out_dir = out_dir
        self.schema = schema
        self.shard_rows = shard_rows
        self.shards: list[dict[str, Any]] = []
        self._batches: list[pa.RecordBatch] = []
        self._rows = 0

    def add(self, row: dict[str, Any]) -> None:
        """Add one row (a dict with every column)."""
        self.add_batch(pa.RecordBatch.from_pylist([row], schema=self.schema))

    def add_batch(self, batch: pa.RecordBatch) -> None:
        """Add rows in order; a shard is written each time ``shard_rows`` are buffered."""
        while batch.num_rows:
            room = self.shard_rows - self._rows
            head, batch = batch.slice(0, room), batch.slice(room)
            self._batches.append(head)
            self._rows += head.num_rows
            if self._rows >= self.shard_rows:
                self.flush()

    def flush(self, force: bool = False) -> None:
        """Write buffered rows as the next shard (`force`: even if empty, so a run leaves one)."""
        rows = self._rows
        if rows == 0 and not force:
            return
        table = pa.Table.from_batches(self._batches, schema=self.schema).combine_chunks()
        name = SHARD_PATTERN.format(len(self.shards))
        if isinstance(self.out_dir, Path):
            tmp = self.out_dir / f".{name}.tmp"
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, self.out_dir / name)
        else:  # an object store's put is all or nothing
            write_table(table, self.out_dir / name, compression="zstd")
        self.shards.append({"file": name, "rows": rows})
        self._batches, self._rows = [], 0

    def close(self) -> None:
        self.flush(force=not self.shards)
