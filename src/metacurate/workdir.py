"""Where a run keeps its files, and atomic writes (temporary name, then rename)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from metacurate._version import __version__

FORMAT_VERSION = 1


class Workdir:
    """The layout of a match/curate output folder (documented in docs/formats.md)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def matches(self) -> Path:
        return self.root / "matches"

    @property
    def index(self) -> Path:
        return self.root / "index"

    @property
    def metadata(self) -> Path:
        return self.root / "metadata.json"

    @property
    def entry_counts(self) -> Path:
        return self.root / "entry_counts.parquet"

    @property
    def stats(self) -> Path:
        return self.root / "stats.json"

    @property
    def curated(self) -> Path:
        return self.root / "curated"

    @property
    def balance(self) -> Path:
        return self.root / "balance"

    def curated_file(self, task_id: str) -> Path:
        return self.curated / f"{task_id}.parquet"

    def remove_temporaries(self) -> list[Path]:
        """Delete what a killed run left half-written (``.NAME.tmp-PID`` files, index
        folders being saved); finished files are never temporaries."""
        removed = []
        for folder in (self.root, self.matches, self.curated, self.balance, self.index):
            if not folder.is_dir():
                continue
            for p in folder.glob("*.tmp-*"):
                if p.is_dir():
                    for q in p.iterdir():
                        q.unlink()
                    p.rmdir()
                else:
                    p.unlink()
                removed.append(p)
        return removed

    def sidecar(self, task_id: str) -> Path:
        return self.matches / f"{task_id}.parquet"

    def partial_counts(self, task_id: str) -> Path:
        return self.matches / f"{task_id}.counts.parquet"

    def done(self, task_id: str) -> Path:
        return self.matches / f"{task_id}.done.json"


def task_id_for(path: str, row_groups: tuple[int, int] | None = None) -> str:
    """A file-system-safe, stable name for a task on ``path`` (and a row-group range)."""
    stem = Path(path).name
    for suffix in (".gz", ".parquet", ".jsonl", ".json", ".csv", ".tsv", ".tar"):
        stem = stem.removesuffix(suffix)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:60]
    part = f"-rg{row_groups[0]}-{row_groups[1]}" if row_groups else ""
    return f"{safe}-{hashlib.sha1(path.encode('utf-8')).hexdigest()[:10]}{part}"


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_json(path: Path, obj: Any, compact: bool = False) -> None:
    """Write JSON atomically (sorted keys, so equal content gives equal bytes); ``compact``
    for big lists (one line, C encoder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    if compact:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False)
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def artifact_metadata(metadata_hash: str, mode: str, **extra: str) -> dict[bytes, bytes]:
    """Key-value metadata stored in every Parquet artifact's schema."""
    kv = {
        "metacurate.format_version": str(FORMAT_VERSION),
        "metacurate.version": __version__,
        "metacurate.metadata_hash": metadata_hash,
        "metacurate.mode": mode,
        **{f"metacurate.{k}": v for k, v in extra.items()},
    }
    return {k.encode(): v.encode() for k, v in kv.items()}


def write_parquet(path: Path, table: pa.Table, kv: dict[bytes, bytes]) -> None:
    """Write a table atomically with self-describing schema metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    pq.write_table(table.replace_schema_metadata(kv), tmp, compression="zstd")
    os.replace(tmp, path)


class ParquetSink:
    """Streaming atomic Parquet writer: batches go to a temporary file renamed on close.

    ``dictionary=False`` for columns of unique values (side-cars), where dictionary encoding
    only costs time."""

    def __init__(
        self, path: Path, schema: pa.Schema, kv: dict[bytes, bytes], dictionary: bool = True
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.tmp = _tmp(path)
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
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)
