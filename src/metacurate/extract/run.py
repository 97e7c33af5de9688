"""Extraction over files: pages → pairs → dedup → optional language id → Parquet shards + stats."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from metacurate.config import EngineConfig
from metacurate.errors import MetacurateError
from metacurate.extract.attrs import image_pairs_fast
from metacurate.extract.pairs import ImagePair, PageImages
from metacurate.extract.scan import scan_kernel
from metacurate.extract.shards import (
    DEFAULT_SHARD_ROWS,
    FORMAT_VERSION,
    SHARD_PATTERN,
    ShardWriter,
    _package_version,
    output_schema,
)
from metacurate.extract.warc import ErrorLog, check_source, iter_records
from metacurate.extract.wat import WatFormatError, image_pairs_from_wat, parse_wat, wat_status

__all__ = [
    "COUNTERS",
    "DEFAULT_SHARD_ROWS",
    "FORMAT_VERSION",
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
#: Per-input temporary files (a file's pairs before the run-wide dedup), removed at the end.
PARTS_DIR = ".extract-parts"
_PART_BATCH = 65_536

#: Counters every per-file stats block has (all add up across files).
COUNTERS = (
    "records",
    "html_pages",
    "wat_records",
    "non_2xx_skipped",
    "images_seen",
    "with_text",
    "pairs",
    "kept",
    "duplicates",
    "relative_urls_resolved",
)


def uid_for(url: str) -> str:
    """DataComp-style 128-bit hex id of an image URL: the first 32 hex digits of its sha256."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class ExtractConfig:
    """Everything that decides an extraction's output; recorded in the stats file."""

    files: tuple[str, ...]
    out_dir: str
    shard_rows: int = DEFAULT_SHARD_ROWS
    lid: bool = False
    force: bool = False
    workers: int = 1
    #: Where the per-file tasks run: the local engine's kind keeps them in this machine's
    #: processes (``workers``); ``ray`` and ``slurm`` run them there. Not recorded.
    engine: EngineConfig = field(default_factory=EngineConfig)

    def validate(self) -> None:
        """Raise MetacurateError for flags or inputs that cannot work."""
        if not self.files:
            raise MetacurateError("extract: no input files; pass WARC/WAT paths or URLs")
        if self.shard_rows < 1:
            raise MetacurateError(f"--shard-rows {self.shard_rows}: must be a positive row count")
        if self.workers < 1:
            raise MetacurateError(f"--workers {self.workers}: must be at least 1")
        self.engine.check()
        for source in self.files:
            check_source(source)
        out = Path(self.out_dir)
        if out.exists() and not out.is_dir():
            raise MetacurateError(f"--out {out}: exists and is not a directory; pick another path")
        if self.lid:
            try:
                import py3langid  # noqa: F401
            except ImportError:
                raise MetacurateError(
                    "--lid needs py3langid: pip install 'metacurate[extract]'"
                ) from None


class LanguageTagger:
    """py3langid (model inside the wheel, no network) with a cache: captions repeat a lot."""

    def __init__(self, cache_size: int = 200_000) -> None:
        import py3langid

        self._classify = py3langid.classify
        self._cache: dict[str, str] = {}
        self._cache_size = cache_size

    def __call__(self, text: str) -> str:
        lang = self._cache.get(text)
        if lang is None:
            lang = self._classify(text)[0]
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[text] = lang
        return lang


@dataclass
class FileStats:
    """Per-file counters, dropped-URL reasons and errors; every number adds up across files."""

    counts: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    errors: ErrorLog = field(default_factory=ErrorLog)

    def add_page(self, page: PageImages) -> None:
        for key, value in page.counts.items():
            if key.startswith("dropped_"):
                self.dropped[key.removeprefix("dropped_")] += value
            else:
                self.counts[key] += value
        self.counts["pairs"] += len(page.pairs)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {key: self.counts[key] for key in COUNTERS}
        out["dropped"] = dict(sorted(self.dropped.items()))
        out["errors"] = dict(sorted(self.errors.counts.items()))
        out["error_count"] = sum(self.errors.counts.values())
        out["error_samples"] = self.errors.samples
        return out


def merge_stats(blocks: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Sum per-file stats blocks (samples are left out of the total)."""
    total: dict[str, Any] = {key: 0 for key in COUNTERS}
    total.update(dropped=Counter(), errors=Counter(), error_count=0)
    for block in blocks:
        for key in (*COUNTERS, "error_count"):
            total[key] += block[key]
        total["dropped"].update(block["dropped"])
        total["errors"].update(block["errors"])
    total["dropped"] = dict(sorted(total["dropped"].items()))
    total["errors"] = dict(sorted(total["errors"].items()))
    return total


def _written_by_extract(path: Path) -> bool:
    """True for a shard whose footer says extract wrote it (a name is no proof)."""
    try:
        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta.get(b"metacurate", b"{}")).get("tool") == "metacurate extract"
    except (OSError, ValueError, pa.ArrowException):
        return False


def _prepare_out_dir(out: Path, force: bool) -> None:
    """Refuse a folder holding extract output (unless ``force``: it is removed) or a file of
    someone else's under a shard's name (never removed or overwritten)."""
    out.mkdir(parents=True, exist_ok=True)
    ours = sorted(
        p
        for p in out.iterdir()
        if p.name == STATS_FILE
        or (p.name.startswith(("part-", ".part-")) and p.name.endswith((".parquet", ".tmp")))
    )
    foreign = [p for p in ours if p.suffix == ".parquet" and not _written_by_extract(p)]
    if foreign:
        raise MetacurateError(
            f"{foreign[0]}: not extract output (its footer does not say so), under the name of "
            "a shard extract would write; move it away or pick another --out"
        )
    if ours and not force:
        raise MetacurateError(
            f"--out {out}: already holds extract output ({ours[0].name}); "
            "pick an empty directory or pass --force"
        )
    for path in ours:
        path.unlink()
    shutil.rmtree(out / PARTS_DIR, ignore_errors=True)  # left by a killed run


def _progress(source: str, enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(desc=os.path.basename(source) or source, unit=" rec", file=sys.stderr, leave=False)


def extract_file(
    source: str,
    emit,  # type: ignore[no-untyped-def]
    progress: bool = False,
) -> FileStats:
    """Extract one WARC/WAT file; `emit(pairs, page_url, offset)` receives each page's pairs."""
    stats = FileStats()
    kernel = scan_kernel()
    bar = _progress(source, progress)
    try:
        for record in iter_records(source, stats.errors):
            stats.counts["records"] += 1
            if bar is not None:
                bar.update()
            if record.kind == "non_2xx":
                stats.counts["non_2xx_skipped"] += 1
                continue
            page_url = record.page_url
            if record.kind == "html":
                try:
                    page = image_pairs_fast(record.payload, page_url, record.http_charset, kernel)
                except Exception as exc:  # resiliparse parser error on hostile input
                    stats.errors.add("html_parse_error", record.offset, str(exc))
                    continue
                stats.counts["html_pages"] += 1
            elif record.kind == "wat":
                stats.counts["wat_records"] += 1
                try:
                    envelope = parse_wat(record.payload)
                except WatFormatError as exc:
                    stats.errors.add("bad_wat_json", record.offset, str(exc))
                    continue
                status = wat_status(envelope)
                if status is not None and not 200 <= status < 300:
                    stats.counts["non_2xx_skipped"] += 1
                    continue
                page_url, wat_page = image_pairs_from_wat(envelope)
                if wat_page is None:
                    continue
                page = wat_page
                stats.counts["html_pages"] += 1
            else:
                continue
            stats.add_page(page)
            if page.pairs:
                emit(page.pairs, page_url, record.offset)
    finally:
        if bar is not None:
            bar.close()
    return stats


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
) -> dict[str, Any]:
    """Turn WARC/WAT files into Parquet shards of (uid, url, text, ...) rows in `out_dir`.

    Exact (url, text) duplicates are dropped across the whole run, first one wins (in input
    file order, so the output does not depend on ``workers``). Writes `_extract_stats.json`
    last and returns the same dict. `progress`: None = only on a terminal. ``overwrite`` is
    the old name of ``force``. ``engine``: where the per-file tasks run (default: here, in
    ``workers`` processes).
    """
    config = ExtractConfig(
        files=tuple(os.fspath(f) for f in files),
        out_dir=os.fspath(out_dir),
        shard_rows=int(shard_rows),
        lid=lid,
        force=force or overwrite,
        workers=int(workers),
        engine=engine or EngineConfig(),
    )
    config.validate()
    return run_extract(config, progress=sys.stderr.isatty() if progress is None else progress)


def _extract_part(source: str, part: str, lid: bool, progress: bool) -> dict[str, Any]:
    """One input file's pairs (before the run-wide dedup) into the Parquet file ``part``;
    returns its stats block. Runs in a worker process when ``workers > 1``."""
    tagger = LanguageTagger() if lid else None
    schema = output_schema(lid)
    uids: list[str] = []
    urls: list[str] = []
    texts: list[str] = []
    sources: list[str] = []
    pages: list[str | None] = []
    offsets: list[int] = []
    with pq.ParquetWriter(part, schema, compression="zstd") as out:

        def flush() -> None:
            columns = [uids, urls, texts, sources, pages, [source] * len(uids), offsets]
            if tagger is not None:
                columns.append([tagger(text) for text in texts])
            out.write_table(pa.table(columns, schema=schema))
            for values in (uids, urls, texts, sources, pages, offsets):
                values.clear()

        def emit(pairs: list[ImagePair], page_url: str | None, offset: int) -> None:
            n = len(pairs)
            page_urls = [pair.url for pair in pairs]
            urls.extend(page_urls)
            uids.extend(map(uid_for, page_urls))
            texts.extend([pair.text for pair in pairs])
            sources.extend([pair.text_source for pair in pairs])
            pages.extend([page_url] * n)
            offsets.extend([offset] * n)
            if len(uids) >= _PART_BATCH:
                flush()

        stats = extract_file(source, emit, progress=progress)
        flush()
    return stats.as_dict()


def _extract_task(item: tuple[int, str, str], checkpoint: Any, lid: bool) -> tuple[int, dict]:
    """An engine's task: input ``item = (index, source, part file)`` -> ``(index, stats)``."""
    index, source, part = item
    return index, _extract_part(source, part, lid, False)


def _engine_parts(config: ExtractConfig, paths: list[str]) -> Iterator[tuple[str, dict]]:
    """The per-file tasks on a Ray or Slurm engine (``--engine``); yielded in input order as
    soon as each one and those before it are done."""
    from functools import partial

    from metacurate.engine import open_engine

    engine = open_engine(config.engine)
    try:
        # Sources as given (they are recorded in the rows; sbatch keeps this folder as the
        # tasks' working folder); part files absolute.
        items = [(i, f, p) for i, (f, p) in enumerate(zip(config.files, paths, strict=True))]
        done: dict[int, dict] = {}
        nxt = 0
        for index, stats in engine.map(partial(_extract_task, lid=config.lid), items):
            done[index] = stats
            while nxt in done:
                yield paths[nxt], done.pop(nxt)
                nxt += 1
    finally:
        engine.close()


def _parts(config: ExtractConfig, parts_dir: Path, progress: bool) -> Iterator[tuple[str, dict]]:
    """``(part file, stats)`` for every input, in input order, extracted by ``workers``."""
    paths = [str(parts_dir / f"{i:06d}.parquet") for i in range(len(config.files))]
    if config.engine.kind != "local":
        yield from _engine_parts(config, [os.path.abspath(p) for p in paths])
        return
    if config.workers == 1 or len(config.files) == 1:
        for source, part in zip(config.files, paths, strict=True):
            yield part, _extract_part(source, part, config.lid, progress)
        return
    workers = min(config.workers, len(config.files))
    context = multiprocessing.get_context("spawn")  # no fork: parsers' state stays private
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [
            pool.submit(_extract_part, source, part, config.lid, False)
            for source, part in zip(config.files, paths, strict=True)
        ]
        bar = _progress(f"{len(futures)} files", progress)
        for part, future in zip(paths, futures, strict=True):
            yield part, future.result()
            if bar is not None:
                bar.update()
        if bar is not None:
            bar.close()


def _merge_part(part: str, writer: ShardWriter, seen: set[bytes]) -> tuple[int, int]:
    """Add a part's rows not seen before to ``writer``: ``(kept, duplicates)``."""
    kept = duplicates = 0
    blake2b = hashlib.blake2b
    with pq.ParquetFile(part) as pf:
        for batch in pf.iter_batches(batch_size=_PART_BATCH):
            keep = []
            urls = batch.column("url").to_pylist()
            texts = batch.column("text").to_pylist()
            for url, text in zip(urls, texts, strict=True):
                key = blake2b(
                    f"{url}\x00{text}".encode("utf-8", "surrogatepass"), digest_size=16
                ).digest()
                new = key not in seen
                if new:
                    seen.add(key)
                keep.append(new)
            n_kept = sum(keep)
            kept += n_kept
            duplicates += len(keep) - n_kept
            writer.add_batch(batch if n_kept == len(keep) else batch.filter(pa.array(keep)))
    os.unlink(part)
    return kept, duplicates


def run_extract(config: ExtractConfig, progress: bool = False) -> dict[str, Any]:
    """`extract` for a validated config: inputs are parsed by ``config.workers`` processes,
    then joined in input order (dedup, shards), so the output is the same for any count."""
    out = Path(config.out_dir)
    _prepare_out_dir(out, config.force)
    parts_dir = out / PARTS_DIR
    parts_dir.mkdir()
    writer = ShardWriter(out, output_schema(config.lid), config.shard_rows)
    seen: set[bytes] = set()
    per_file: dict[str, dict[str, Any]] = {}
    try:
        for source, (part, stats) in zip(
            config.files, _parts(config, parts_dir, progress), strict=True
        ):
            stats["kept"], stats["duplicates"] = _merge_part(part, writer, seen)
            if source in per_file:  # the same file twice: keep both blocks apart
                source = f"{source}#{len(per_file)}"
            per_file[source] = stats
        writer.close()
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
    skip = ("out_dir", "force", "workers", "engine")
    result: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "tool": "metacurate extract",
        "package_version": _package_version(),
        "config": {k: v for k, v in asdict(config).items() if k not in skip},
        "columns": writer.schema.names,
        "rows": sum(s["rows"] for s in writer.shards),
        "shards": writer.shards,
        "total": merge_stats(per_file.values()),
        "files": per_file,
    }
    result["config"]["files"] = list(config.files)
    tmp = out / f".{STATS_FILE}.tmp"
    tmp.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out / STATS_FILE)
    return result
