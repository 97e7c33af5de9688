"""Captions as Python sees them: one rule for every reader that shows a caption.

Pool files may hold captions that are not valid UTF-8 (a latin-1 byte in a TSV, a Parquet
``binary`` column). Matching counts such a row as ``invalid_utf8`` and matches nothing; anything
that *shows* the caption (the report's examples, explain) reads it through :func:`shown_text`,
which replaces each invalid byte with U+FFFD instead of failing.
"""

from __future__ import annotations

import pyarrow as pa


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr


def as_bytes(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A text-like column (string, binary, large or view, dictionary) as ``large_binary``;
    other types as their string form's bytes."""
    arr = _plain(arr)
    t = arr.type
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return arr.cast(pa.large_binary())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr.cast(pa.large_binary())
    if hasattr(pa.types, "is_string_view") and (
        pa.types.is_string_view(t) or pa.types.is_binary_view(t)
    ):
        return arr.cast(pa.large_binary())
    if pa.types.is_fixed_size_binary(t):
        return arr.cast(pa.large_binary())
    return arr.cast(pa.string()).cast(pa.large_binary())


def shown_text(arr: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    """A caption column as valid UTF-8 strings: invalid bytes become U+FFFD, nulls stay null."""
    raw = as_bytes(arr)
    try:
        return raw.cast(pa.string())  # checks UTF-8: the common case costs one pass
    except pa.ArrowInvalid:
        values = [None if b is None else b.decode("utf-8", "replace") for b in raw.to_pylist()]
        return pa.array(values, type=pa.string())
