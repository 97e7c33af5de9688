"""Row identity: the ``uid`` of a row and its 64-bit ``uid_hash``.

The keep decision of balancing hashes ``uid_hash`` (semantics.md section 3), so both are fixed
formulas, part of the on-disk contract (``UID_VERSION``):

- ``uid``: the pool's uid column as a string when it has one (nulls filled as below), else
  16 hex digits of ``fmix64(fnv1a64(url bytes, 0xFF, text bytes))`` (a null url or text counts
  as empty; 0xFF never occurs in UTF-8, so it separates the two unambiguously);
- ``uid_hash = fmix64(fnv1a64(utf-8 bytes of uid))``.

FNV-1a runs in the native kernel when it is built, else in Python (same numbers, slower).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metacurate.errors import MetacurateError
from metacurate.kernel import calls, native_available

UID_VERSION = 1
FNV_BASIS = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
_M64 = (1 << 64) - 1
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer on a uint64 array (returns a new array)."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    x ^= x >> np.uint64(33)
    return x


def _binary(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not (pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type)):
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = arr.cast(pa.string())
        arr = arr.cast(pa.large_binary() if pa.types.is_large_string(arr.type) else pa.binary())
    return arr


def fnv1a_update(state: np.ndarray, arr: pa.Array | pa.ChunkedArray) -> None:
    """Continue each row's FNV-1a 64 state over that row's bytes (nulls leave it as is)."""
    arr = _binary(arr)
    if not (
        isinstance(state, np.ndarray)
        and state.dtype == np.uint64
        and state.ndim == 1
        and state.flags.c_contiguous
        and state.flags.writeable
    ):
        raise ValueError("state must be a writable 1-d C-contiguous uint64 array")
    if len(arr) != len(state):
        raise ValueError("state and array lengths differ")
    if native_available():
        calls.fnv1a_rows(calls.arrow_rows(arr), state)
        return
    for i, raw in enumerate(arr.to_pylist()):
        if raw is None:
            continue
        h = int(state[i])
        for b in raw:
            h = ((h ^ b) * FNV_PRIME) & _M64
        state[i] = h


def uid_hash(uids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """``fmix64(fnv1a64(uid))`` for every uid string."""
    state = np.full(len(uids), FNV_BASIS, dtype=np.uint64)
    fnv1a_update(state, uids)
    return fmix64(state)


def hex16(values: np.ndarray) -> pa.StringArray:
    """Each uint64 as 16 lower-case hex digits, vectorised."""
    be = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    digits = np.empty((len(values), 16), dtype=np.uint8)
    digits[:, 0::2] = _HEX[be >> 4]
    digits[:, 1::2] = _HEX[be & 15]
    offsets = np.arange(0, 16 * len(values) + 1, 16, dtype=np.int32)
    return pa.StringArray.from_buffers(
        len(values), pa.py_buffer(offsets), pa.py_buffer(digits.tobytes())
    )


def derive_uids(url: pa.Array | None, text: pa.Array) -> pa.StringArray:
    """uids for a pool without a uid column: a hash of url and text (see module doc)."""
    state = np.full(len(text), FNV_BASIS, dtype=np.uint64)
    if url is not None:
        fnv1a_update(state, url)
    state ^= np.uint64(0xFF)
    state *= np.uint64(FNV_PRIME)
    fnv1a_update(state, text)
    return hex16(fmix64(state))


def row_uids(uid: pa.Array | None, url: pa.Array | None, text: pa.Array) -> pa.Array:
    """The ``uid`` column of a batch: the pool's uids (as strings) with nulls derived."""
    if uid is None:
        return derive_uids(url, text)
    if isinstance(uid, pa.ChunkedArray):
        uid = uid.combine_chunks()
    try:
        uid = uid.cast(pa.string())
    except pa.ArrowInvalid:
        raise MetacurateError(
            "the uid column holds bytes that are not UTF-8 text; pass --uid-column NAME with a "
            "text column (or rename this one so that uids are made from url and caption)"
        ) from None
    if uid.null_count:
        uid = pc.if_else(pc.is_null(uid), derive_uids(url, text), uid)
    return uid
