"""Every kernel entry point refuses malformed buffers with ValueError (MetacurateError through
the Python wrappers) instead of reading outside them."""

from __future__ import annotations

import contextlib

import numpy as np
import pyarrow as pa
import pytest

from metacurate import Matcher, MetacurateError
from metacurate.balance import rule as balance
from metacurate.kernel import native, native_available
from metacurate.pool import uid as uidmod

pytestmark = pytest.mark.skipif(not native_available(), reason="native kernel not built")


def table(m: Matcher) -> list:
    t = m._tables
    return [t["slots"], t["tags"], t["blob"], t["ids"] if len(t["ids"]) else None,
            int(t["mask"][0]), m.n_entries]  # fmt: skip


def arrow_args(offsets: list[int], data: bytes, is64: bool = True, n: int | None = None):
    offs = np.array(offsets, np.int64 if is64 else np.int32)
    return [offs, is64, data, None, 0, len(offsets) - 1 if n is None else n]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(["dog", "red car", "dog"], native=True)


# --- match: Arrow buffers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "offsets, data, message",
    [
        ([0, 5, 3, 8], b"red car dog", "row 1"),  # not monotonic in the middle
        ([0, 3, 40], b"red car dog", "row 1"),  # past the data buffer
        ([-1, 3], b"dog", "row 0"),  # negative
        ([0, 3], b"", "row 0"),  # no data buffer at all
    ],
)
def test_match_refuses_bad_offsets(matcher, offsets, data, message):
    for is64 in (True, False):
        with pytest.raises(ValueError, match=message):
            native.match(*table(matcher), *arrow_args(offsets, data, is64))


def test_match_refuses_bad_counts(matcher):
    t = table(matcher)
    offs = np.array([0, 3, 7], np.int64)
    for arr_offset, n in [(0, 3), (2, 1), (-1, 1), (0, -1), (2**62, 2**62)]:
        with pytest.raises(ValueError):
            native.match(*t, offs, True, b"dog red car", None, arr_offset, n)
    with pytest.raises(ValueError, match="validity"):
        native.match(*t, np.zeros(10, np.int64), True, b"", b"\xff", 0, 9)
    with pytest.raises(ValueError, match="int64"):
        native.match(*t, offs.tobytes()[:-3], True, b"dog red car", None, 0, 1)


def test_matcher_turns_bad_arrow_arrays_into_metacurate_error(matcher):
    offsets = pa.py_buffer(np.array([0, 3, 1, 7], np.int32))
    arr = pa.Array.from_buffers(pa.string(), 3, [None, offsets, pa.py_buffer(b"dogred car")])
    with pytest.raises(MetacurateError, match="row 1: Arrow offsets"):
        matcher.match_arrow(arr)


# --- match: span tables --------------------------------------------------------------------


def test_match_refuses_tables_that_do_not_fit(matcher):
    slots, tags, blob, ids, mask, n = table(matcher)
    args = arrow_args([0, 7], b"red car")
    good = native.match(slots, tags, blob, ids, mask, n, *args)
    assert np.frombuffer(good[1], np.int32).tolist() == [1]
    bad = [
        ([slots, tags, blob, ids, 2**64 - 1, n], "mask"),  # mask + 1 overflows to 0
        ([slots[:0], tags[:0], blob, ids, 2**64 - 1, n], "mask"),
        ([slots, tags, blob, ids, mask + 2, n], "mask"),  # not 2**k - 1
        ([slots, tags, blob, ids, mask * 2 + 1, n], "slots"),
        ([slots[:-32], tags, blob, ids, mask, n], "slots"),
        ([slots, tags[:-1], blob, ids, mask, n], "tags"),
        ([slots, tags, blob, ids, mask, -1], "entry count"),
        ([slots, tags, blob, np.zeros(3, np.uint8), mask, n], "int32"),
    ]
    for t, message in bad:
        with pytest.raises(ValueError, match=message):
            native.match(*t, *args)
    misaligned = np.frombuffer(b"\0" + slots.tobytes(), np.uint8)[1:]
    with pytest.raises(ValueError, match="aligned"):
        native.match(misaligned, tags, blob, ids, mask, n, *args)


def test_match_refuses_ids_a_table_lacks(matcher):
    # "dog" twice: its key lists two ids in `ids`; without them (None) or with too few
    # entries the old kernel dereferenced NULL or returned ids past the metadata
    slots, tags, blob, ids, mask, n = table(matcher)
    args = arrow_args([0, 3], b"dog")
    for t in ([slots, tags, blob, None, mask, n], [slots, tags, blob, ids, mask, 1]):
        with pytest.raises(ValueError, match="invalid span table"):
            native.match(*t, *args)
    with pytest.raises(ValueError, match="invalid span table"):
        native.match(slots, tags, blob[:2], ids, mask, n, *args)  # keys past the entry bytes


def test_random_tables_never_read_out_of_bounds():
    rng = np.random.default_rng(0)
    args = arrow_args([0, 11, 19, 19], b"red car dog a b c dog")
    for size in (16, 64):
        for _ in range(200):
            slots = rng.integers(0, 256, size * 32, dtype=np.uint8)
            tags = rng.integers(0, 2**16, size, dtype=np.uint16)
            if rng.random() < 0.5:
                tags[rng.random(size) < 0.5] = 0
            blob = rng.integers(0, 256, rng.integers(0, 64), dtype=np.uint8)
            ids = rng.integers(-5, 40, rng.integers(0, 8), dtype=np.int32)
            t = [slots, tags, blob, ids, size - 1, 3]
            with contextlib.suppress(ValueError):
                native.match(*t, *args)
            with pytest.raises(ValueError, match="invalid span table"):
                native.validate(*t)


# --- build -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "offsets, message",
    [
        ([0, 3, 2, 5], "entry 1"),
        ([0, 3, 9], "entry 1"),
        ([-1, 3], "start"),
        ([8], "start"),
        ([], "int64"),
    ],
)
def test_build_refuses_bad_offsets(offsets, message):
    with pytest.raises(ValueError, match=message):
        native.build(np.frombuffer(b"dog cat", np.uint8), np.array(offsets, np.int64))
    with pytest.raises(ValueError):
        native.build(np.frombuffer(b"dog cat", np.uint8), np.array([0, 3], np.int32))


def test_build_refuses_sizes_that_overflow():
    # calloc'd zeros: untouched pages cost no memory, and the sizes are refused before reading
    gib = np.zeros(2**30, np.uint8)
    with pytest.raises(ValueError, match="entry 0 is longer"):
        native.build(gib, np.array([0, 2**30], np.int64))  # span_len << 2 overflowed before
    with pytest.raises(ValueError, match="4 GiB"):
        native.build(np.zeros(2**32, np.uint8), np.array([0, 0], np.int64))


def test_build_then_validate():
    m = Matcher(["a b c", "a", "", "a b c", "x y"], native=True)
    slots, tags, blob, ids, mask, n = table(m)
    keys, max_len, max_tokens = native.validate(slots, tags, blob, ids, mask, n)
    assert (keys, max_len, max_tokens) == (6, 5, 3)  # a, a b, a b c, "", x, x y


# --- uid hashing -------------------------------------------------------------------------


def test_fnv1a_refuses_bad_sizes():
    offs = np.array([0, 3, 6], np.int64)
    state = np.zeros(2, np.uint64)
    for arr_offset, n in [(0, -5), (-1, 1), (0, 3), (2**62, 1)]:
        with pytest.raises(ValueError):
            native.fnv1a(offs, True, b"dogcat", None, arr_offset, n, state)
    with pytest.raises(ValueError, match="state"):
        native.fnv1a(offs, True, b"dogcat", None, 0, 2, np.zeros(1, np.uint64))
    with pytest.raises(ValueError, match="row 1"):
        native.fnv1a(np.array([0, 3, 2], np.int64), True, b"dogcat", None, 0, 2, state)
    assert state.tolist() == [0, 0]  # nothing written by a refused call
    readonly = np.zeros(2, np.uint64)
    readonly.flags.writeable = False
    with pytest.raises((ValueError, BufferError)):
        native.fnv1a(offs, True, b"dogcat", None, 0, 2, readonly)


def test_fnv1a_update_checks_its_state():
    arr = pa.array(["dog", "cat"])
    for bad in (np.zeros(2, np.int64), np.zeros(4, np.uint64)[::2], np.zeros(3, np.uint64)):
        with pytest.raises(ValueError):
            uidmod.fnv1a_update(bad, arr)


# --- balancing ---------------------------------------------------------------------------


def test_keep_mask_and_row_sums_check_every_offset():
    values = np.array([0, 1, 2], np.int32)
    p = np.ones(3)
    # the old kernel checked only offsets[0] and offsets[-1]: the middle 100 read past values
    for offsets in ([0, 100, 3], [0, 2, 1, 3], [1, 0, 3]):
        offs = np.array(offsets, np.int64)
        uid = np.zeros(len(offsets) - 1, np.uint64)
        with pytest.raises(ValueError, match="offsets"):
            native.keep_mask(offs, values, uid, p, 0)
        with pytest.raises(ValueError, match="offsets"):
            native.row_sums(offs, values, p)
        with pytest.raises(MetacurateError, match="keep_mask: offsets"):
            balance._keep_mask_flat(offs, values, uid, p, 0, None)
        with pytest.raises(MetacurateError, match="keep_prob: offsets"):
            balance._row_sums(offs, values, p)
    ok = np.array([0, 1, 3], np.int64)
    with pytest.raises(ValueError, match="int64"):
        native.keep_mask(ok, values, np.zeros(3, np.uint64), p, 0)  # n + 1 offsets for n uids
    with pytest.raises(ValueError, match="range"):
        native.keep_mask(ok, np.array([0, 1, 7], np.int32), np.zeros(2, np.uint64), p * 0, 0)
    with pytest.raises(ValueError):
        native.row_sums(np.zeros(0, np.int64), values, p)
    sums = native.row_sums(ok, values, np.array([1.0, 2.0, 4.0]))
    assert np.frombuffer(sums, float).tolist() == [1.0, 6.0]
