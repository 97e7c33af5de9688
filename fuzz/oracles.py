"""Obviously-correct Python statements of what each kernel entry point must do, for the fuzzer.

The match-set oracle is the pure-Python matcher (``Matcher(native=False)``, itself held to the
naive loop of semantics.md by tests/match); these are the rest: which raw buffers the kernel must
accept, and what it must compute from them.
"""

from __future__ import annotations

import struct

M64 = (1 << 64) - 1
FNV_BASIS = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
GOLDEN = 0x9E3779B97F4A7C15


def arrow_rows(
    offsets: bytes, is64: bool, data: bytes, validity: bytes | None, arr_offset: int, n: int
) -> list[bytes | None] | None:
    """The rows of Arrow buffers, or None where the kernel must refuse them (ValueError)."""
    size = 8 if is64 else 4
    if len(offsets) % size or arr_offset < 0 or n < 0:
        return None
    offs = struct.unpack(f"<{len(offsets) // size}{'q' if is64 else 'i'}", offsets)
    if arr_offset + n + 1 > len(offs):
        return None
    if validity is not None and len(validity) < (arr_offset + n + 7) // 8:
        return None
    rows: list[bytes | None] = []
    for r in range(n):
        a = arr_offset + r
        b0, b1 = offs[a], offs[a + 1]
        if not 0 <= b0 <= b1 <= len(data):
            return None
        valid = validity is None or (validity[a >> 3] >> (a & 7)) & 1
        rows.append(data[b0:b1] if valid else None)
    return rows


def fnv1a(state: int, data: bytes) -> int:
    for b in data:
        state = ((state ^ b) * FNV_PRIME) & M64
    return state


def mix13(x: int) -> int:
    x &= M64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    x ^= x >> 31
    return x


def flat_rows(offsets: list[int], n_values: int) -> list[range] | None:
    """Row ranges of flat match sets, or None where the kernel must refuse the offsets."""
    rows = []
    for r in range(len(offsets) - 1):
        lo, hi = offsets[r], offsets[r + 1]
        if not 0 <= lo <= hi <= n_values:
            return None
        rows.append(range(lo, hi))
    return rows


def keep_mask(
    rows: list[range], values: list[int], uid: list[int], p: list[float], key: int
) -> list[int] | None:
    """Row r kept iff some e has u(key, uid[r], e) < p[e]; None on an id outside p (refused)."""
    out = []
    for r, span in enumerate(rows):
        row = mix13(key ^ uid[r])
        kept = 0
        for i in span:
            e = values[i]
            if not 0 <= e < len(p):
                return None
            u = (mix13(row + (e + 1) * GOLDEN) >> 11) * 2.0**-53
            if u < p[e]:
                kept = 1
                break
        out.append(kept)
    return out


def row_sums(rows: list[range], values: list[int], table: list[float]) -> list[float] | None:
    """Left-to-right sums of table[e] per row; None on an id outside the table (refused)."""
    out = []
    for span in rows:
        acc = 0.0
        for i in span:
            e = values[i]
            if not 0 <= e < len(table):
                return None
            acc += table[e]
        out.append(acc)
    return out
