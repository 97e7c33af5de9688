"""The only caller of the compiled kernels (``_native.c``, ``_worldwide.c``, ``_htmlscan.c``):
one typed function per entry point.

Each function takes named, typed arguments (an Arrow string column travels as one
:class:`ArrowRows`, not six positional values), calls the kernel and turns a refused input (the
kernel's ``ValueError``: a malformed buffer, a damaged table) into a :class:`MetacurateError`
that says what was being done. Callers check :func:`metacurate.kernel.native_available` (or
``worldwide_kernel_available``) first; these functions assume the kernel is there.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import numpy as np
import pyarrow as pa

from metacurate.errors import MetacurateError
from metacurate.kernel import htmlscan, native, worldwide

T = TypeVar("T")

#: What an index written by this build records (None: that kernel was not compiled).
KERNEL_VERSION: int | None = getattr(native, "KERNEL_VERSION", None)
SLOT_SIZE: int | None = getattr(native, "SLOT_SIZE", None)
WORLDWIDE_KERNEL_VERSION: int | None = getattr(worldwide, "KERNEL_VERSION", None)
WORLDWIDE_SLOT_SIZE: int | None = getattr(worldwide, "SLOT_SIZE", None)
#: Whether ``_htmlscan.c`` was compiled.
HTMLSCAN_COMPILED = htmlscan is not None


def kernel_call(what: str, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``; its ``ValueError`` (a refused input) becomes a :class:`MetacurateError`
    that says what was being done."""
    try:
        return fn(*args)
    except ValueError as exc:
        raise MetacurateError(f"{what}: {exc}") from None


class ArrowRows(NamedTuple):
    """Rows of an Arrow (large_)string or (large_)binary array, as the kernels read them."""

    offsets: pa.Buffer
    large: bool  # 64-bit offsets
    data: pa.Buffer | None
    validity: pa.Buffer | None  # None when no row is null
    offset: int  # the array's offset into its buffers
    n: int


def arrow_rows(arr: pa.Array) -> ArrowRows:
    """The buffers of ``arr`` (an empty array may have none: zero offsets stand in)."""
    n = len(arr)
    validity, offsets, data = arr.buffers()[:3]
    large = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    if offsets is None:
        offsets = pa.py_buffer(np.zeros(arr.offset + n + 1, np.int64 if large else np.int32))
    return ArrowRows(offsets, large, data, validity if arr.null_count else None, arr.offset, n)


# --- _native.c: the metaclip1 span table ------------------------------------------------------


def span_build(blob: np.ndarray, offsets: np.ndarray, what: str) -> tuple[bytes, bytes, bytes, int]:
    """Entries (UTF-8 ``blob`` cut at int64 ``offsets``) -> slots, tags, ids, mask."""
    return kernel_call(what, native.build, blob, offsets)


def span_validate_keys(
    tables: dict[str, np.ndarray], n_entries: int, lo: int, hi: int, what: str
) -> None:
    """The key checks of slots ``[lo, hi)`` (releases the GIL)."""
    kernel_call(what, native.validate_keys, *_table_args(tables), n_entries, lo, hi)


def span_validate_ids(tables: dict[str, np.ndarray], n_entries: int, what: str) -> None:
    """The id checks of the whole table (releases the GIL)."""
    kernel_call(what, native.validate_ids, *_table_args(tables), n_entries)


def _table_args(tables: dict[str, np.ndarray]) -> tuple:
    t = tables
    return t["slots"], t["tags"], t["blob"], t["ids"], int(t["mask"][0])


def span_match(
    tables: dict[str, np.ndarray], n_entries: int, rows: ArrowRows
) -> tuple[bytes, bytes, bytes]:
    """Every row's ascending entry ids: int32 offsets, int32 ids and a status byte per row."""
    t = tables
    return kernel_call(
        "match",
        native.match,
        t["slots"],
        t["tags"],
        t["blob"],
        t["ids"] if len(t["ids"]) else None,
        int(t["mask"][0]),
        n_entries,
        rows.offsets,
        rows.large,
        rows.data,
        rows.validity,
        rows.offset,
        rows.n,
    )


# --- _native.c: uid hashing and the keep decision ---------------------------------------------


def fnv1a_rows(rows: ArrowRows, state: np.ndarray, what: str = "uid hashing") -> None:
    """FNV-1a of every non-null row's bytes into ``state`` (a writable uint64 array, one value
    per row, holding each row's running hash)."""
    kernel_call(
        what,
        native.fnv1a,
        rows.offsets,
        rows.large,
        rows.data,
        rows.validity,
        rows.offset,
        rows.n,
        state,
    )


def fnv1a_bytes(data: bytes, state: np.ndarray) -> None:
    """FNV-1a of ``data`` into ``state[0]`` (one uid, no Arrow array built)."""
    try:
        native.fnv1a(struct.pack("<ii", 0, len(data)), False, data, None, 0, 1, state)
    except ValueError as exc:
        raise MetacurateError(f"uid hashing: {exc}") from None


def keep_mask(
    offsets: np.ndarray, values: np.ndarray, uid_hash: np.ndarray, p: np.ndarray, key: int
) -> np.ndarray:
    """Per row: some matched entry ``e`` has ``u(key, uid_hash, e) < p[e]`` (HASH_VERSION 1)."""
    return np.frombuffer(
        kernel_call(
            "keep_mask",
            native.keep_mask,
            np.ascontiguousarray(offsets, dtype=np.int64),
            np.ascontiguousarray(values, dtype=np.int32),
            np.ascontiguousarray(uid_hash, dtype=np.uint64),
            np.ascontiguousarray(p, dtype=np.float64),
            key,
        ),
        dtype=np.bool_,
    )


def row_sums(offsets: np.ndarray, values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Per row, ``table[e]`` summed left to right over its match set (0.0 when empty)."""
    return np.frombuffer(
        kernel_call(
            "keep_prob",
            native.row_sums,
            np.ascontiguousarray(offsets, dtype=np.int64),
            np.ascontiguousarray(values, dtype=np.int32),
            np.ascontiguousarray(table, dtype=np.float64),
        ),
        dtype=np.float64,
    )


# --- _worldwide.c: the metaclip2 modes' unit-span table ---------------------------------------


def unit_build(
    blob: np.ndarray,
    offsets: np.ndarray,
    ids: np.ndarray,
    bmp: np.ndarray,
    astral: np.ndarray,
    what: str,
) -> tuple[bytes, int]:
    """Patterns (``blob`` cut at ``offsets``, their first ids) -> slots and mask, under the
    separator classes ``bmp``/``astral`` of the mode."""
    return kernel_call(what, worldwide.build, blob, offsets, ids, bmp, astral)


def unit_match(
    tables: dict[str, np.ndarray],
    rows: ArrowRows,
    status: np.ndarray,
    offsets: np.ndarray,
    values: np.ndarray,
) -> tuple[bytes, bytes]:
    """Every row's ascending entry ids (int32 offsets and ids): the unit-span matches of the
    rows whose ``status`` is text or empty, merged with the padded matcher's (``offsets``,
    ``values``) remapped."""
    t = tables
    return kernel_call(
        "match",
        worldwide.match,
        t["slots"],
        t["blob"] if len(t["blob"]) else None,
        t["multi"] if len(t["multi"]) else None,
        int(t["mask"][0]),
        t["bmp"],
        t["astral"] if len(t["astral"]) else None,
        rows.offsets,
        rows.large,
        rows.data,
        rows.offset,
        rows.n,
        np.ascontiguousarray(status, dtype=np.uint8),
        offsets,
        np.ascontiguousarray(values, dtype=np.int32) if len(values) else None,
        t["remap"] if len(t["remap"]) else None,
    )


# --- _htmlscan.c: extract's streaming <img> scan ----------------------------------------------


#: The scan's entry points, bound as they are (bytes in, nothing refused to map; a loop over
#: many pages calls them with no wrapper in between): None when not compiled.
html_scan: Callable[[bytes], Any] | None = getattr(htmlscan, "scan", None)
html_facts: Callable[[bytes], int] | None = getattr(htmlscan, "facts", None)
html_utf8_valid: Callable[[bytes], bool] | None = getattr(htmlscan, "utf8_valid", None)
#: ``header_values(names, headers)``: per name, the first matching header's value (see
#: extract.headers.header), all in one pass over ``HeaderMap.astuples()``.
header_values: (
    Callable[[tuple[tuple[str, str], ...], tuple[str, ...]], tuple[str | None, ...]] | None
) = getattr(htmlscan, "header_values", None)
#: ``pair_uids(urls, texts, portable=False)``: extract's uid of each (url, text) pair (lists
#: of str), or None when a string is not strict UTF-8 (see _pairuid.c).
pair_uids: Callable[..., list[str] | None] | None = getattr(htmlscan, "pair_uids", None)
#: ``wat_scan(data)``: the fields extract reads of a WAT JSON record, or None (see _watscan.c).
wat_scan: Callable[[bytes], Any] | None = getattr(htmlscan, "wat_scan", None)


def wat_scan_pair_type(cls: type) -> None:
    """The tuple class ``wat_scan`` makes a page's pairs with when it returns them ready."""
    if htmlscan is not None:
        htmlscan.set_pair_type(cls)


#: ``dbcs_valid(data, table)``: whether ``data`` decodes strictly in a double-byte codec.
html_dbcs_valid: Callable[[bytes, Any], bool] | None = getattr(htmlscan, "dbcs_valid", None)
