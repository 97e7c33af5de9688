"""Stream pool files as Arrow record batches with bounded memory.

Every reader holds at most one block (CSV/JSONL), one row group (Parquet) or one batch of
samples (WebDataset) at a time, so a file of any size streams. Any failure to read a file
becomes a MetacurateError that names the file and says what to do.
"""

from __future__ import annotations

import json
import os
import posixpath
import tarfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from metacurate.errors import MetacurateError
from metacurate.pool.sources import Source

_MiB = 1 << 20
_EMPTY = pa.schema([])

# Errors that mean "this file could not be read", as opposed to bugs in our code.
_READ_ERRORS = (
    pa.ArrowException,
    OSError,
    EOFError,
    tarfile.TarError,
    zlib.error,
    json.JSONDecodeError,
    UnicodeDecodeError,
)

_ADVICE = {
    "parquet": "the file is not valid Parquet (corrupt, truncated or another format); "
    "re-download or rewrite it, or pass --format if it is not Parquet",
    "jsonl": "expected JSON Lines (one JSON object per line); fix the bad line, "
    "re-download the file if it is truncated, or pass --format if it is not JSON Lines",
    "csv": "expected comma-separated rows with standard quoting and the same number of fields "
    "on every row; check the header and delimiter (--format tsv for tab-separated files), "
    "or re-download the file if it is truncated",
    "tsv": "expected tab-separated rows (no quoting) with the same number of fields on every "
    "row; check the header / column names, or re-download the file if it is truncated",
    "webdataset": "expected a WebDataset .tar shard; re-download or re-create it if it is "
    "truncated or corrupt",
}


@dataclass(frozen=True)
class ReadOptions:
    """How to read pool files; the defaults suit the common layouts."""

    csv_columns: tuple[str, ...] | None = None  # names for a headerless CSV/TSV; None: header row
    batch_rows: int = 65_536
    wds_text_key: str = "txt"  # WebDataset: caption from this member extension...
    wds_json_field: str = "caption"  # ...else from this field of the .json member
    block_bytes: int = 16 * _MiB  # CSV/JSONL parse block; a line must fit in one block


def _fail(source: Source, exc: BaseException, options: ReadOptions) -> MetacurateError:
    """A one-line user error for a file that could not be read."""
    if isinstance(exc, FileNotFoundError):
        return MetacurateError(f"{source.path}: file not found; check the path")
    if isinstance(exc, PermissionError):
        return MetacurateError(f"{source.path}: permission denied; make the file readable")
    what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    advice = _ADVICE[source.format]
    if "straddl" in what or "or block" in what:
        advice = (
            "a single row is longer than the parse block; raise ReadOptions.block_bytes "
            f"(now {options.block_bytes} bytes)"
        )
    return MetacurateError(f"{source.path}: {what}; {advice}")


def _check_source(source: Source) -> None:
    if source.format not in _ADVICE:
        raise MetacurateError(f"{source.path}: unknown format {source.format!r}")


def _is_empty(source: Source) -> bool:
    return os.path.getsize(source.path) == 0


def _project(schema: pa.Schema, columns: Sequence[str] | None, source: Source) -> list[str] | None:
    """Validate a projection against the file's columns; None means all columns."""
    if columns is None:
        return None
    names = schema.names
    missing = [c for c in columns if c not in names]
    if missing:
        found = ", ".join(names) if names else "(none)"
        raise MetacurateError(
            f"{source.path}: no column {missing[0]!r}; columns found: {found}; "
            "pick one of those (e.g. --text-column NAME)"
        )
    return list(columns)


def _rebatch(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """Cut batches to at most `rows` rows (zero-copy slices), dropping empty ones."""
    for batch in batches:
        for start in range(0, batch.num_rows, rows):
            yield batch.slice(start, rows)


# ---------------------------------------------------------------- Parquet


def _parquet_schema(source: Source, options: ReadOptions) -> pa.Schema:
    with pq.ParquetFile(source.path, pre_buffer=False) as pf:
        return pf.schema_arrow


def _parquet_batches(
    source: Source, options: ReadOptions, columns: Sequence[str] | None
) -> Iterator[pa.RecordBatch]:
    # pre_buffer=False: pyarrow's default pre-buffering reads ahead across row groups (the
    # whole file, measured); without it and with a buffered stream, memory stays about one
    # row group's worth of decoded column chunks.
    with pq.ParquetFile(source.path, pre_buffer=False, buffer_size=_MiB) as pf:
        cols = _project(pf.schema_arrow, columns, source)
        groups = range(*source.row_groups) if source.row_groups else None
        yield from pf.iter_batches(batch_size=options.batch_rows, columns=cols, row_groups=groups)


# ---------------------------------------------------------------- JSON Lines


def _open_json(source: Source, options: ReadOptions, schema: pa.Schema | None = None) -> Any:
    stream = pa.input_stream(source.path, compression="detect")
    parse = (
        pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
        if schema is not None
        else pa_json.ParseOptions()
    )
    try:
        reader = pa_json.open_json(
            stream,
            read_options=pa_json.ReadOptions(block_size=options.block_bytes),
            parse_options=parse,
        )
    except BaseException:
        stream.close()
        raise
    return stream, reader


def _is_empty_stream(exc: pa.ArrowInvalid) -> bool:
    return str(exc).startswith("Empty")


def _json_schema(source: Source, options: ReadOptions) -> pa.Schema:
    """Columns from the first block; fields null there are typed string so later rows fit."""
    if _is_empty(source):
        return _EMPTY
    try:
        stream, reader = _open_json(source, options)
    except pa.ArrowInvalid as exc:
        if _is_empty_stream(exc):
            return _EMPTY
        raise
    with stream:
        schema = reader.schema
    return pa.schema(
        [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in schema],
        metadata=schema.metadata,
    )


def _json_batches(
    source: Source, options: ReadOptions, columns: Sequence[str] | None
) -> Iterator[pa.RecordBatch]:
    # The first block fixes the columns (fields first seen later are ignored), so every
    # batch of a file has the same schema.
    schema = _json_schema(source, options)
    if not schema.names:
        return
    cols = _project(schema, columns, source)
    stream, reader = _open_json(source, options, schema)
    with stream:
        for batch in reader:
            yield batch if cols is None else batch.select(cols)


# ---------------------------------------------------------------- CSV / TSV


def _csv_parse(source: Source) -> pa_csv.ParseOptions:
    if source.format == "tsv":
        return pa_csv.ParseOptions(delimiter="\t", quote_char=False, newlines_in_values=False)
    return pa_csv.ParseOptions(delimiter=",", newlines_in_values=True)


def _open_csv(
    source: Source,
    options: ReadOptions,
    names: Sequence[str] | None,
    include: Sequence[str] | None = None,
) -> Any:
    """Open a streaming CSV reader; with `names` known every column is read as a string."""
    stream = pa.input_stream(source.path, compression="detect")
    read = pa_csv.ReadOptions(
        block_size=options.block_bytes,
        column_names=list(options.csv_columns) if options.csv_columns else None,
        autogenerate_column_names=False,
    )
    convert = pa_csv.ConvertOptions(
        check_utf8=False,
        column_types={n: pa.string() for n in names} if names is not None else None,
        include_columns=list(include) if include is not None else None,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        reader = pa_csv.open_csv(
            stream, read_options=read, parse_options=_csv_parse(source), convert_options=convert
        )
    except BaseException:
        stream.close()
        raise
    return stream, reader


def _csv_schema(source: Source, options: ReadOptions) -> pa.Schema:
    """All columns as strings: names from `csv_columns`, else from the header row."""
    if options.csv_columns:
        return pa.schema([(n, pa.string()) for n in options.csv_columns])
    if _is_empty(source):
        return _EMPTY
    try:
        stream, reader = _open_csv(source, options, names=None)
    except pa.ArrowInvalid as exc:
        if _is_empty_stream(exc):
            return _EMPTY
        raise
    with stream:
        names = reader.schema.names
    return pa.schema([(n, pa.string()) for n in names])


def _csv_batches(
    source: Source, options: ReadOptions, columns: Sequence[str] | None
) -> Iterator[pa.RecordBatch]:
    schema = _csv_schema(source, options)
    if not schema.names or _is_empty(source):
        return
    cols = _project(schema, columns, source)
    try:
        stream, reader = _open_csv(source, options, schema.names, include=cols)
    except pa.ArrowInvalid as exc:
        if _is_empty_stream(exc):
            return
        raise
    with stream:
        yield from reader


# ---------------------------------------------------------------- WebDataset


def _wds_key(name: str) -> tuple[str, str] | None:
    """(key, extension) of a member: the path up to the first '.' of the basename."""
    dirname, base = posixpath.split(name)
    if base.startswith(".") or "." not in base:
        return None
    stem, ext = base.split(".", 1)
    return posixpath.join(dirname, stem) if dirname else stem, ext.lower()


def _scalar_bytes(value: Any) -> bytes | None:
    """A JSON value as UTF-8 bytes: strings as they are, other values as JSON text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


@dataclass
class _Sample:
    key: str
    text: bytes | None = None
    fields: dict[str, Any] | None = None


def _wds_samples(source: Source, options: ReadOptions) -> Iterator[_Sample]:
    """Samples of a shard in order, reading only the caption and .json members."""
    if _is_empty(source):
        return
    text_ext = options.wds_text_key.lower()
    ends: list[type[Exception]] = []

    class _Info(tarfile.TarInfo):
        """Records why tarfile stopped: it ends silently on a truncated or garbled header."""

        @classmethod
        def fromtarfile(cls, tar: tarfile.TarFile) -> tarfile.TarInfo:
            try:
                return super().fromtarfile(tar)
            except Exception as exc:
                ends.append(type(exc))
                raise

    with (
        open(source.path, "rb") as raw,
        tarfile.open(fileobj=raw, mode="r|*", tarinfo=_Info) as tar,
    ):
        sample: _Sample | None = None
        for member in tar:
            tar.members.clear()  # tarfile keeps every header it read; a shard may have millions
            if not member.isfile():
                continue
            parts = _wds_key(member.name)
            if parts is None:
                continue
            key, ext = parts
            if sample is None or sample.key != key:
                if sample is not None:
                    yield sample
                sample = _Sample(key)
            if ext == text_ext:
                sample.text = _read_member(tar, member)
            elif ext == "json":
                data = json.loads(_read_member(tar, member))
                sample.fields = data if isinstance(data, dict) else {}
        if ends and ends[-1] is not tarfile.EOFHeaderError:
            raise tarfile.ReadError(
                "the archive stops without its end-of-archive marker (truncated or corrupt "
                f"after {tar.offset} bytes)"
            )
        if sample is not None:
            yield sample


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    f = tar.extractfile(member)
    if f is None:  # pragma: no cover - isfile() members always have data
        return b""
    return f.read()


_WDS_FIXED = ("__key__", "text")


def _wds_field_names(samples: Sequence[_Sample]) -> list[str]:
    """Top-level scalar .json fields of these samples, in order of first appearance."""
    names: dict[str, None] = {}
    for s in samples:
        for name, value in (s.fields or {}).items():
            if name not in _WDS_FIXED and not isinstance(value, (dict, list)):
                names.setdefault(name, None)
    return list(names)


def _wds_batch(
    samples: Sequence[_Sample], fields: Sequence[str], options: ReadOptions
) -> pa.RecordBatch:
    def strings(values: list[bytes | None]) -> pa.Array:
        # Built from bytes and viewed as string: undecodable captions stay as they are for
        # the matcher to flag, exactly as the CSV reader does with check_utf8=False.
        return pa.array(values, pa.binary()).view(pa.string())

    texts: list[bytes | None] = []
    for s in samples:
        if s.text is not None:
            texts.append(s.text)
        else:
            texts.append(_scalar_bytes((s.fields or {}).get(options.wds_json_field)))
    arrays = [strings([s.key.encode("utf-8", "surrogateescape") for s in samples]), strings(texts)]
    for name in fields:
        arrays.append(strings([_scalar_bytes((s.fields or {}).get(name)) for s in samples]))
    return pa.RecordBatch.from_arrays(arrays, names=[*_WDS_FIXED, *fields])


def _wds_chunks(source: Source, options: ReadOptions) -> Iterator[list[_Sample]]:
    chunk: list[_Sample] = []
    for sample in _wds_samples(source, options):
        chunk.append(sample)
        if len(chunk) >= options.batch_rows:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _wds_schema(source: Source, options: ReadOptions) -> pa.Schema:
    """`__key__`, `text`, then the .json fields seen in the first batch of samples."""
    first = next(_wds_chunks(source, options), [])
    return pa.schema([(n, pa.string()) for n in [*_WDS_FIXED, *_wds_field_names(first)]])


def _wds_batches(
    source: Source, options: ReadOptions, columns: Sequence[str] | None
) -> Iterator[pa.RecordBatch]:
    # The first batch fixes the columns (fields first seen later are ignored), so every
    # batch of a shard has the same schema, the one read_schema reports.
    fields: list[str] | None = None
    cols: list[str] | None = None
    for chunk in _wds_chunks(source, options):
        if fields is None:
            fields = _wds_field_names(chunk)
            schema = pa.schema([(n, pa.string()) for n in [*_WDS_FIXED, *fields]])
            cols = _project(schema, columns, source)
        batch = _wds_batch(chunk, fields, options)
        yield batch if cols is None else batch.select(cols)
    if fields is None:  # an empty shard still has the fixed columns
        _project(pa.schema([(n, pa.string()) for n in _WDS_FIXED]), columns, source)


# ---------------------------------------------------------------- entry points

_SCHEMA = {
    "parquet": _parquet_schema,
    "jsonl": _json_schema,
    "csv": _csv_schema,
    "tsv": _csv_schema,
    "webdataset": _wds_schema,
}
_BATCHES = {
    "parquet": _parquet_batches,
    "jsonl": _json_batches,
    "csv": _csv_batches,
    "tsv": _csv_batches,
    "webdataset": _wds_batches,
}


def read_schema(source: Source, options: ReadOptions = ReadOptions()) -> pa.Schema:
    """The columns of a pool file, cheaply (Parquet footer, first block or first samples).

    An empty file has no columns unless they are known without reading rows (`csv_columns`,
    a header row, the `__key__`/`text` columns of a shard).
    """
    _check_source(source)
    try:
        if source.format == "parquet" and _is_empty(source):
            return _EMPTY
        return _SCHEMA[source.format](source, options)
    except MetacurateError:
        raise
    except _READ_ERRORS as exc:
        raise _fail(source, exc, options) from None


def read_batches(
    source: Source,
    options: ReadOptions = ReadOptions(),
    columns: Sequence[str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream a pool file as record batches of at most `options.batch_rows` rows, in order.

    `columns` selects and orders the columns; a column the file lacks is a MetacurateError
    listing those it has. An empty file yields no batches.
    """
    _check_source(source)
    if source.row_groups is not None and source.format != "parquet":
        raise MetacurateError(f"{source.path}: row groups only exist in Parquet files")
    if options.batch_rows < 1:
        raise MetacurateError(f"batch_rows must be at least 1, not {options.batch_rows}")
    if columns is not None and isinstance(columns, str):
        columns = [columns]
    try:
        if source.format == "parquet" and _is_empty(source):
            return
        yield from _rebatch(_BATCHES[source.format](source, options, columns), options.batch_rows)
    except MetacurateError:
        raise
    except _READ_ERRORS as exc:
        raise _fail(source, exc, options) from None
