"""Stream pool files as Arrow record batches with bounded memory.

Every reader holds at most one block (CSV/JSONL), one row group (Parquet) or one batch of
samples (WebDataset) at a time, so a file of any size streams. Any failure to read a file
becomes a MetacurateError that names the file and says what to do.
"""

from __future__ import annotations

import json
import lzma
import tarfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from metacurate.errors import InputError, MetacurateError
from metacurate.pool.options import ReadOptions, is_empty, project
from metacurate.pool.sources import Source
from metacurate.pool.webdataset import wds_batches, wds_schema
from metacurate.storage import input_stream, is_remote, pool_parquet

_MiB = 1 << 20


def _buffer(source: Source) -> int:
    """Read buffer of a Parquet file: 1 MiB locally, 8 MiB remotely (fewer round trips)."""
    return 8 * _MiB if is_remote(source.path) else _MiB


_EMPTY = pa.schema([])
DEFAULT_OPTIONS = ReadOptions()

# Errors that mean "this file could not be read", as opposed to bugs in our code.
_READ_ERRORS = (
    pa.ArrowException,
    OSError,
    EOFError,
    tarfile.TarError,
    zlib.error,
    json.JSONDecodeError,
    UnicodeDecodeError,
    lzma.LZMAError,
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


def _fail(source: Source, exc: BaseException, options: ReadOptions) -> InputError:
    """A one-line input error for a file that could not be read."""
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{source.path}: file not found; check the path")
    if isinstance(exc, PermissionError):
        return InputError(f"{source.path}: permission denied; make the file readable")
    what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    advice = _ADVICE[source.format]
    if _too_long(exc):
        advice = (
            f"a single row is longer than {options.block_bytes:,} bytes, the largest parse "
            "block tried; split or shorten that row"
        )
    return InputError(f"{source.path}: {what}; {advice}")


def _check_source(source: Source) -> None:
    if source.format not in _ADVICE:
        raise MetacurateError(f"{source.path}: unknown format {source.format!r}")


def _rebatch(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """Cut batches to at most `rows` rows (zero-copy slices), dropping empty ones."""
    for batch in batches:
        for start in range(0, batch.num_rows, rows):
            yield batch.slice(start, rows)


# ---------------------------------------------------------------- Parquet


def _parquet_schema(source: Source, options: ReadOptions) -> pa.Schema:
    with pool_parquet(source.path, options.s3_endpoint, pre_buffer=False) as pf:
        return pf.schema_arrow


def _parquet_batches(
    source: Source, options: ReadOptions, columns: Sequence[str] | None
) -> Iterator[pa.RecordBatch]:
    # pre_buffer=False: pyarrow's default pre-buffering reads ahead across row groups (the
    # whole file, measured); without it and with a buffered stream, memory stays about one
    # row group's worth of decoded column chunks.
    with pool_parquet(
        source.path, options.s3_endpoint, pre_buffer=False, buffer_size=_buffer(source)
    ) as pf:
        cols = project(pf.schema_arrow, columns, source)
        groups = range(*source.row_groups) if source.row_groups else None
        yield from pf.iter_batches(batch_size=options.batch_rows, columns=cols, row_groups=groups)


# ---------------------------------------------------------------- JSON Lines


def _open_json(source: Source, options: ReadOptions, schema: pa.Schema | None = None) -> Any:
    stream = input_stream(source.path, options.s3_endpoint)
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
    if is_empty(source, options):
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
    cols = project(schema, columns, source)
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
    stream = input_stream(source.path, options.s3_endpoint)
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
    if is_empty(source, options):
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
    if not schema.names or is_empty(source, options):
        return
    cols = project(schema, columns, source)
    try:
        stream, reader = _open_csv(source, options, schema.names, include=cols)
    except pa.ArrowInvalid as exc:
        if _is_empty_stream(exc):
            return
        raise
    with stream:
        yield from reader


# ---------------------------------------------------------------- entry points

_SCHEMA = {
    "parquet": _parquet_schema,
    "jsonl": _json_schema,
    "csv": _csv_schema,
    "tsv": _csv_schema,
    "webdataset": wds_schema,
}
_BATCHES = {
    "parquet": _parquet_batches,
    "jsonl": _json_batches,
    "csv": _csv_batches,
    "tsv": _csv_batches,
    "webdataset": wds_batches,
}


#: The largest CSV/JSONL parse block tried for a long row (blocks grow 4x from
#: ``ReadOptions.block_bytes`` when a row does not fit).
MAX_BLOCK_BYTES = 1 << 30


def _too_long(exc: BaseException) -> bool:
    """A CSV/JSONL row longer than the parse block (Arrow's words for it)."""
    return isinstance(exc, pa.ArrowInvalid) and ("straddl" in str(exc) or "or block" in str(exc))


def _larger(source: Source, options: ReadOptions, exc: BaseException) -> ReadOptions | None:
    """The options to read again with when a row did not fit the parse block, else None."""
    if source.format in ("parquet", "webdataset") or not _too_long(exc):
        return None
    if options.block_bytes >= MAX_BLOCK_BYTES:
        return None
    return replace(options, block_bytes=min(options.block_bytes * 4, MAX_BLOCK_BYTES))


def _batches_growing(
    source: Source, options: ReadOptions, columns: Sequence[str] | None
) -> Iterator[pa.RecordBatch]:
    """The file's batches; a row longer than the parse block (a caption over 16 MiB) makes
    the file be read again with a 4x larger block, skipping the rows already yielded."""
    done = 0
    while True:
        skip = done
        try:
            batches = _BATCHES[source.format](source, options, columns)
            for batch in _rebatch(batches, options.batch_rows):
                if skip >= batch.num_rows:
                    skip -= batch.num_rows
                    continue
                batch, skip = batch.slice(skip), 0
                done += batch.num_rows
                yield without_views(batch)
            return
        except pa.ArrowInvalid as exc:
            larger = _larger(source, options, exc)
            if larger is None:
                raise
            options = larger


def read_schema(source: Source, options: ReadOptions = DEFAULT_OPTIONS) -> pa.Schema:
    """The columns of a pool file, cheaply (Parquet footer, first block or first samples).

    An empty file has no columns unless they are known without reading rows (`csv_columns`,
    a header row, the `__key__`/`text` columns of a shard).
    """
    _check_source(source)
    try:
        if source.format == "parquet" and is_empty(source, options):
            return _EMPTY
        while True:
            try:
                return _SCHEMA[source.format](source, options)
            except pa.ArrowInvalid as exc:  # a first row longer than the block: a larger one
                larger = _larger(source, options, exc)
                if larger is None:
                    raise
                options = larger
    except MetacurateError:
        raise
    except _READ_ERRORS as exc:
        raise _fail(source, exc, options) from None


def read_batches(
    source: Source,
    options: ReadOptions = DEFAULT_OPTIONS,
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
        if source.format == "parquet" and is_empty(source, options):
            return
        yield from _batches_growing(source, options, columns)
    except MetacurateError:
        raise
    except _READ_ERRORS as exc:
        if _too_long(exc):
            options = replace(options, block_bytes=MAX_BLOCK_BYTES)
        raise _fail(source, exc, options) from None


def _is_view(t: pa.DataType) -> bool:
    return getattr(pa.types, "is_string_view", lambda _: False)(t) or getattr(
        pa.types, "is_binary_view", lambda _: False
    )(t)


def without_views(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``string_view`` / ``binary_view`` columns (pyarrow >= 16 writes them) as ``string`` /
    ``binary``: every stage downstream (take, filter, the kernel) reads one layout."""
    if not any(_is_view(f.type) for f in batch.schema):
        return batch
    arrays = [
        c.cast(pa.string() if pa.types.is_string_view(c.type) else pa.binary())
        if _is_view(c.type)
        else c
        for c in batch.columns
    ]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def decode_dictionaries(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Dictionary-encoded columns (pandas ``category``) as plain arrays of their values."""
    if not any(pa.types.is_dictionary(f.type) for f in batch.schema):
        return batch
    arrays = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
