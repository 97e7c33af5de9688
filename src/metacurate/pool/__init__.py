"""Pool input: find pool files, stream them as Arrow record batches, find their columns."""

from metacurate.pool.columns import (
    TEXT_NAMES,
    UID_NAMES,
    URL_NAMES,
    Columns,
    resolve_columns,
)
from metacurate.pool.readers import ReadOptions, read_batches, read_schema
from metacurate.pool.sources import FORMATS, Source, detect_format, expand_pool

__all__ = [
    "FORMATS",
    "TEXT_NAMES",
    "UID_NAMES",
    "URL_NAMES",
    "Columns",
    "ReadOptions",
    "Source",
    "detect_format",
    "expand_pool",
    "read_batches",
    "read_schema",
    "resolve_columns",
]
