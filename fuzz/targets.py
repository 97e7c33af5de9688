"""Fuzz targets over every kernel entry point; each one byte string -> one checked call.

``run(data)`` picks a target from the first byte and decodes the rest with :class:`Bytes` (a
tiny, deterministic data provider, so the same targets run under atheris, in the corpus replay
test and in plain loops). A target raises ``AssertionError`` on any wrong answer: match sets that
differ from the pure-Python matcher, a refused input that should have been accepted or the other
way round, or any exception other than the kernel's ``ValueError`` for a refused input. Memory
errors are the sanitizer's to report (run under ``.ci/fuzz.sh``).
"""

from __future__ import annotations

import contextlib
import struct

import numpy as np
import pyarrow as pa

from fuzz import oracles
from metacurate.kernel import native
from metacurate.match.matcher import Matcher

PIECES = ["a", "b", "ab", "dog", "é", "猫", "", "a b", "b a", "x" * 9, "aaaaaaaaab"]
SEPS = [" ", "  ", "\t", "\n", "\r", ",", ".", ";", ":", "?", "!", "`", "(", "\u00a0", "-"]


class Bytes:
    """Reads values off the front of a byte string; returns zeros once it runs out."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out

    def int(self, lo: int, hi: int) -> int:
        """An int in [lo, hi]."""
        span = hi - lo + 1
        nbytes = max(1, (span.bit_length() + 7) // 8)
        return lo + int.from_bytes(self.take(nbytes).ljust(nbytes, b"\0"), "little") % span

    def pick(self, items: list):
        return items[self.int(0, len(items) - 1)]

    def chance(self, one_in: int) -> bool:
        return self.int(0, one_in - 1) == 0


def _text(b: Bytes, max_parts: int, repeat: int, limit: int = 20_000) -> str:
    """Pieces and separators, with runs repeated up to ``repeat`` times (long captions), at
    most ``limit`` characters (repeats nest, so they are capped)."""
    parts: list[str] = []
    size = 0
    for _ in range(b.int(0, max_parts)):
        kind = b.int(0, 9)
        if kind < 4:
            part = b.pick(PIECES)
        elif kind < 8:
            part = b.pick(SEPS)
        elif kind == 8 and parts:
            tail = "".join(parts[-b.int(1, len(parts)) :])
            part = tail * min(b.int(1, repeat), (limit - size) // max(1, len(tail)))
        else:
            part = b.take(b.int(0, 4)).decode("utf-8", "replace")
        if size + len(part) > limit:
            break
        parts.append(part)
        size += len(part)
    return "".join(parts)


#: The pure-Python oracle takes a step per (start token, span token): about 0.5 us each, 50x
#: that under atheris' instrumentation. Captions are cut so that tokens x the longest entry's
#: tokens stays under this (a 350-space entry against a 20,000-space caption was ~7M steps:
#: libFuzzer timeouts of the oracle, not of the kernel).
ORACLE_STEPS = 200_000


def _oracle_sized(metadata: list[str], rows: list) -> list:
    """``rows`` with every caption cut to what the oracle checks in ``ORACLE_STEPS`` steps
    (a caption character makes at most 3 tokens: a mark and the spaces around it)."""
    longest = max((e.count(" ") + 1 for e in metadata), default=1)
    budget = max(16, ORACLE_STEPS // (3 * longest))
    return [r[:budget] if isinstance(r, (str, bytes)) else r for r in rows]


def _metadata(b: Bytes) -> list[str]:
    return [_text(b, 5, 40, limit=400) for _ in range(b.int(0, 10))]


def _expect_value_error(fn, *args) -> None:
    try:
        fn(*args)
    except ValueError:
        return
    raise AssertionError(f"{fn.__name__} accepted an input it must refuse")


def _tables(m: Matcher) -> list:
    t = m._tables
    ids = t["ids"] if len(t["ids"]) else None
    return [t["slots"], t["tags"], t["blob"], ids, int(t["mask"][0]), m.n_entries]


# --- targets ------------------------------------------------------------------------------


def match_sets(b: Bytes) -> None:
    """Native match sets and statuses equal the pure-Python matcher's, on any texts."""
    metadata = _metadata(b)
    rows: list[str | bytes | None] = []
    for _ in range(b.int(0, 6)):
        kind = b.int(0, 7)
        if kind == 0:
            rows.append(None)
        elif kind == 1:
            rows.append(_text(b, 6, 50).encode() + b.take(b.int(0, 3)))  # maybe invalid UTF-8
        else:
            rows.append(_text(b, 24, 300))
    rows = _oracle_sized(metadata, rows)
    typ = b.pick([pa.string(), pa.large_string(), pa.binary(), pa.large_binary()])
    binary = [r.encode("utf-8", "surrogatepass") if isinstance(r, str) else r for r in rows]
    arr = pa.array(binary, type=pa.large_binary())
    if typ in (pa.binary(), pa.large_binary()) or not any(isinstance(r, bytes) for r in rows):
        arr = arr.cast(typ)  # (binary rows may hold invalid UTF-8: they stay binary)
    if len(arr) and b.chance(3):
        start = b.int(0, len(arr) - 1)
        arr = arr.slice(start, b.int(0, len(arr) - start))
    got = Matcher(metadata, native=True).match_arrow(arr)
    want = Matcher(metadata, native=False).match_arrow(arr)
    assert got.entry_ids.to_pylist() == want.entry_ids.to_pylist(), (metadata, arr)
    assert got.status.tolist() == want.status.tolist(), (metadata, arr)


def match_buffers(b: Bytes) -> None:
    """Raw Arrow buffers: refused exactly when malformed, else the rows' match sets."""
    metadata = _metadata(b)
    m = Matcher(metadata, native=True)
    data = _text(b, 12, 20).encode() + b.take(b.int(0, 8))
    is64 = b.chance(2)
    nofs = b.int(0, 10)
    offs = [b.int(-2, len(data) + 2) if b.chance(4) else b.int(0, len(data)) for _ in range(nofs)]
    if b.chance(2):
        offs.sort()
    offsets = struct.pack(f"<{nofs}{'q' if is64 else 'i'}", *offs) + b.take(b.int(0, 1) * 3)
    validity = b.take(b.int(0, 2)) if b.chance(2) else None
    arr_offset, n = b.int(-1, 4), b.int(-1, 10)
    args = [offsets, is64, data, validity, arr_offset, n]
    rows = oracles.arrow_rows(*args)
    if rows is None:
        _expect_value_error(native.match, *_tables(m), *args)
        return
    out_off, out_ids, status = native.match(*_tables(m), *args)
    offsets_out = np.frombuffer(out_off, np.int32)
    ids = np.frombuffer(out_ids, np.int32)
    got = [ids[offsets_out[r] : offsets_out[r + 1]].tolist() for r in range(n)]
    want = Matcher(metadata, native=False).match_arrow(pa.array(rows, type=pa.binary()))
    assert got == want.entry_ids.to_pylist(), (metadata, rows)
    assert list(status) == want.status.tolist(), (metadata, rows)


def damaged_tables(b: Bytes) -> None:
    """A table with bytes changed: match must stay in bounds and answer well-formed sets;
    after one changed byte, validate refuses the table or the change is harmless (same match
    sets). Several changes can be consistent (two ids swapped), which only the sha256 in
    index.json catches (tests/kernel/test_index.py)."""
    metadata = _metadata(b) + ["a", "a b", "a"]
    captions = pa.array([_text(b, 16, 30) for _ in range(3)] + ["a b a a b ab"])
    good = Matcher(metadata, native=True)
    want = good.match_batch(captions).to_pylist()
    t = {k: np.array(v, copy=True) for k, v in good._tables.items()}
    changes = b.int(1, 4)
    for _ in range(changes):
        name = b.pick(["slots", "tags", "ids", "blob", "mask", "slots", "slots"])
        raw = t[name].view(np.uint8)
        if raw.size and not b.chance(8):
            raw[b.int(0, raw.size - 1)] ^= b.int(1, 255)
        elif b.chance(2):
            t[name] = t[name][: b.int(0, len(t[name]))]
    ids = t["ids"] if len(t["ids"]) else None
    mask = int(t["mask"][0]) if len(t["mask"]) else b.int(0, 64)
    table = [t["slots"], t["tags"], t["blob"], ids, mask, len(metadata)]
    arr = captions.cast(pa.large_string())
    validity, offsets, data = arr.buffers()[:3]
    with contextlib.suppress(ValueError):  # in bounds whatever the damage
        native.match(*table, offsets, True, data, None, 0, len(arr))
    try:
        native.validate(*table)
    except ValueError:
        return
    out_off, out_ids, _ = native.match(*table, offsets, True, data, None, 0, len(arr))
    got = pa.ListArray.from_arrays(
        pa.array(np.frombuffer(out_off, np.int32)), pa.array(np.frombuffer(out_ids, np.int32))
    ).to_pylist()
    for row in got:
        assert row == sorted(set(row)) and all(0 <= e < len(metadata) for e in row), row
    if changes == 1:
        assert got == want, "validate accepted a one-byte damage that changes matches"


def build_raw(b: Bytes) -> None:
    """build on raw entry bytes and offsets: refused exactly when malformed; what it builds
    passes validate and matches like the Python matcher."""
    blob = b.take(b.int(0, 24))
    nofs = b.int(0, 8)
    offs = [b.int(-1, len(blob) + 1) for _ in range(nofs)]
    if b.chance(3):
        offs.sort()
    ok = nofs >= 1 and all(0 <= x <= len(blob) for x in offs) and offs == sorted(offs)
    blob_a, offs_a = np.frombuffer(blob, np.uint8), np.array(offs, np.int64)
    if not ok:
        _expect_value_error(native.build, blob_a, offs_a)
        return
    slots, tags, ids, mask = native.build(blob_a, offs_a)
    table = [np.frombuffer(slots, np.uint8), np.frombuffer(tags, np.uint16)]
    n = nofs - 1
    native.validate(*table, blob_a, np.frombuffer(ids, np.int32), mask, n)
    try:
        entries = [blob[offs[e] : offs[e + 1]].decode("utf-8") for e in range(n)]
    except UnicodeDecodeError:
        return
    captions = [" ".join(entries), _text(b, 8, 10)]
    got = Matcher(entries, native=True).match_batch(captions).to_pylist()
    assert got == Matcher(entries, native=False).match_batch(captions).to_pylist()


def fnv1a_rows(b: Bytes) -> None:
    """FNV-1a over raw Arrow buffers: refused exactly when malformed (state untouched)."""
    data = b.take(b.int(0, 16))
    is64 = b.chance(2)
    nofs = b.int(0, 8)
    offs = sorted(b.int(0, len(data)) for _ in range(nofs))
    if nofs and b.chance(4):
        offs[b.int(0, nofs - 1)] = b.int(-1, len(data) + 1)
    offsets = struct.pack(f"<{nofs}{'q' if is64 else 'i'}", *offs)
    validity = b.take(b.int(0, 2)) if b.chance(2) else None
    arr_offset, n = b.int(-1, 3), b.int(-1, 8)
    state = np.array([b.int(0, oracles.M64) for _ in range(b.int(0, 9))], np.uint64)
    before = state.copy()
    rows = oracles.arrow_rows(offsets, is64, data, validity, arr_offset, n)
    args = [offsets, is64, data, validity, arr_offset, n, state]
    if rows is None or len(state) < n:
        _expect_value_error(native.fnv1a, *args)
        assert (state == before).all(), "a refused call wrote to the state"
        return
    native.fnv1a(*args)
    for r in range(len(state)):
        row = rows[r] if r < n else None
        want = int(before[r]) if row is None else oracles.fnv1a(int(before[r]), row)
        assert int(state[r]) == want


def _flat(b: Bytes) -> tuple[list[int], list[int], int]:
    n = b.int(0, 6)
    nvals = b.int(0, 12)
    offs = sorted(b.int(0, nvals) for _ in range(n + 1))
    if b.chance(3) and offs:
        offs[b.int(0, n)] = b.int(-2, nvals + 2)
    values = [b.int(-1, 8) if b.chance(6) else b.int(0, 6) for _ in range(nvals)]
    return offs, values, n


def keep_mask(b: Bytes) -> None:
    """The keep decision on raw flat match sets: refused exactly when malformed."""
    offs, values, n = _flat(b)
    uid = [b.int(0, oracles.M64) for _ in range(n + (b.chance(8) and b.int(-1, 1)))]
    p = [b.pick([0.0, 0.25, 0.5, 1.0, 0.999, float("nan")]) for _ in range(b.int(0, 7))]
    key = b.int(0, oracles.M64)
    args = [
        np.array(offs, np.int64),
        np.array(values, np.int32),
        np.array(uid, np.uint64),
        np.array(p, np.float64),
        key,
    ]
    want = None
    if len(offs) == len(uid) + 1:
        rows = oracles.flat_rows(offs, len(values))
        want = None if rows is None else oracles.keep_mask(rows, values, uid, p, key)
    if want is None:
        _expect_value_error(native.keep_mask, *args)
        return
    assert list(native.keep_mask(*args)) == want


def row_sums(b: Bytes) -> None:
    """Per-row sums on raw flat match sets: refused exactly when malformed, same bits."""
    offs, values, _ = _flat(b)
    table = [b.pick([0.0, -0.0, 1.5, -2.25, 1e308, float("-inf"), 3e-310]) for _ in range(7)]
    table = table[: b.int(0, 7)]
    args = [np.array(offs, np.int64), np.array(values, np.int32), np.array(table, np.float64)]
    rows = oracles.flat_rows(offs, len(values))
    want = None if rows is None else oracles.row_sums(rows, values, table)
    if want is None:
        _expect_value_error(native.row_sums, *args)
        return
    assert native.row_sums(*args) == struct.pack(f"<{len(want)}d", *want)


TARGETS = [match_sets, match_sets, match_buffers, damaged_tables, build_raw, fnv1a_rows]
TARGETS += [keep_mask, row_sums]


def run(data: bytes) -> None:
    """One fuzz input: the first byte picks the target."""
    if not data:
        return
    TARGETS[data[0] % len(TARGETS)](Bytes(data[1:]))
