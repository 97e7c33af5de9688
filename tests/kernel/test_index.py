"""A cached matcher index that is damaged is refused or rebuilt, never matched with."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from metacurate import Matcher, MetacurateError
from metacurate.kernel import native, native_available
from metacurate.kernel import tables as kt
from metacurate.match.index_cache import index_dir, load_or_build
from metacurate.metadata import Metadata

pytestmark = pytest.mark.skipif(not native_available(), reason="native kernel not built")

ENTRIES = ["dog", "red car", "dog", "a b c", "a", "", "car", "new york city", "york"]
CAPTIONS = ["a red car and a dog", "a b c d", "new york city  car", "york a b", "dog dog"]


@pytest.fixture
def md() -> Metadata:
    return Metadata.from_list(ENTRIES)


def expected() -> list[list[int]]:
    return Matcher(ENTRIES, native=False).match_batch(CAPTIONS).to_pylist()


def overwrite(path, data: bytes) -> None:
    """Replace the array bytes of a .npy file in place (header kept)."""
    arr = np.load(path, mmap_mode="r+")
    arr.view(np.uint8)[:] = np.frombuffer(data, np.uint8)
    arr.flush()
    del arr


def test_random_bytes_in_slots_are_rebuilt(md, tmp_path):
    # the reported failure: slots.npy overwritten with random bytes of the right size gave
    # 28 curated rows instead of 35,186 and exit 0; now the digest refuses it and the cache
    # is rebuilt
    load_or_build(md, tmp_path)
    d = index_dir(tmp_path, md.hash)
    size = np.load(d / "slots.npy", mmap_mode="r").nbytes
    overwrite(d / "slots.npy", np.random.default_rng(0).bytes(size))
    with pytest.raises(MetacurateError, match="slots.npy: content differs"):
        Matcher.load(d, md)
    with pytest.raises(MetacurateError, match="slots.npy: content differs"):
        Matcher.load(d, md.hash)  # the worker path refuses too
    again = load_or_build(md, tmp_path)
    assert again.match_batch(CAPTIONS).to_pylist() == expected()


@pytest.mark.parametrize("name", sorted(kt.TABLE_DTYPES))
def test_any_changed_table_is_refused(md, tmp_path, name):
    load_or_build(md, tmp_path)
    d = index_dir(tmp_path, md.hash)
    arr = np.load(d / f"{name}.npy")
    raw = bytearray(arr.tobytes())
    raw[len(raw) // 2] ^= 0x40
    overwrite(d / f"{name}.npy", bytes(raw))
    with pytest.raises(MetacurateError, match=f"{name}.npy: content differs"):
        Matcher.load(d, md)
    assert load_or_build(md, tmp_path).match_batch(CAPTIONS).to_pylist() == expected()


def test_structural_damage_is_refused_even_with_a_matching_index_json(md, tmp_path):
    # someone rewrote index.json for the damaged files: validate() still refuses them
    load_or_build(md, tmp_path)
    d = index_dir(tmp_path, md.hash)
    slots = np.load(d / "slots.npy")
    occupied = np.flatnonzero(np.load(d / "tags.npy"))
    slots.reshape(-1, 32)[occupied[0], 20] ^= 1  # a bit of nids
    np.save(d / "slots.npy", slots)
    info = json.loads((d / "index.json").read_text())
    info["tables"]["slots"]["sha256"] = hashlib.sha256(slots.tobytes()).hexdigest()
    (d / "index.json").write_text(json.dumps(info))
    with pytest.raises(MetacurateError, match="damaged.*invalid span table"):
        Matcher.load(d, md.hash)


@pytest.mark.parametrize(
    "change",
    [
        lambda info: info.pop("tables"),
        lambda info: info.update(kernel_version=3),  # an index of the old kernel
        lambda info: info.update(entries=4),
        lambda info: info["tables"]["ids"].update(shape=[9]),
    ],
)
def test_bad_index_json_is_rebuilt(md, tmp_path, change):
    load_or_build(md, tmp_path)
    d = index_dir(tmp_path, md.hash)
    info = json.loads((d / "index.json").read_text())
    change(info)
    (d / "index.json").write_text(json.dumps(info))
    with pytest.raises(MetacurateError):
        Matcher.load(d, md)
    assert load_or_build(md, tmp_path).match_batch(CAPTIONS).to_pylist() == expected()
    (d / "index.json").write_text("{not json")
    assert load_or_build(md, tmp_path).match_batch(CAPTIONS).to_pylist() == expected()


def test_wrong_dtype_table_is_refused(md, tmp_path):
    load_or_build(md, tmp_path)
    d = index_dir(tmp_path, md.hash)
    np.save(d / "tags.npy", np.load(d / "tags.npy").astype(np.int64))
    with pytest.raises(MetacurateError, match="tags table has dtype int64"):
        Matcher.load(d, md)


def tables_of(m: Matcher) -> dict[str, np.ndarray]:
    return {k: np.array(v, copy=True) for k, v in m._tables.items()}


def run(t: dict[str, np.ndarray], n: int, captions: list[str]) -> list[list[int]] | None:
    """Match with raw tables if validate accepts them, else None."""
    args = [t["slots"], t["tags"], t["blob"], t["ids"] if len(t["ids"]) else None]
    args += [int(t["mask"][0]), n]
    try:
        native.validate(*args)
    except ValueError:
        return None
    m = Matcher.__new__(Matcher)
    m.native, m._tables, m.n_entries = True, t, n
    return m.match_batch(captions).to_pylist()


@pytest.mark.parametrize("name", ["slots", "tags", "ids", "blob"])
def test_every_single_byte_change_is_refused_or_harmless(name):
    # validate() alone (no digest): each byte of each table, changed, is either refused or
    # gives exactly the same matches
    good = Matcher(ENTRIES, native=True)
    want = good.match_batch(CAPTIONS).to_pylist()
    base = tables_of(good)
    raw_len = base[name].nbytes
    accepted = 0
    for i in range(raw_len):
        for flip in (0x01, 0x80, 0xFF):
            t = {k: v.copy() for k, v in base.items()}
            t[name].view(np.uint8)[i] ^= flip
            got = run(t, len(ENTRIES), CAPTIONS)
            if got is not None:
                accepted += 1
                assert got == want, (name, i, flip)
    assert accepted < raw_len * 3  # something was refused


def test_validate_refuses_a_table_missing_an_entry_or_with_spare_ids():
    good = Matcher(ENTRIES, native=True)
    t = tables_of(good)
    assert run(t, len(ENTRIES), CAPTIONS) == good.match_batch(CAPTIONS).to_pylist()
    assert run(t, len(ENTRIES) + 1, CAPTIONS) is None  # an entry has no key
    assert run(t, len(ENTRIES) - 1, CAPTIONS) is None  # an id out of range
    t2 = dict(t, ids=np.concatenate([t["ids"], np.array([4], np.int32)]))
    assert run(t2, len(ENTRIES), CAPTIONS) is None  # ids no key uses
    full = dict(t, tags=np.full_like(t["tags"], 7))
    assert run(full, len(ENTRIES), CAPTIONS) is None


def _accepted(fn) -> bool:
    try:
        fn()
    except (ValueError, MetacurateError):
        return False
    return True


@pytest.mark.parametrize("name", ["slots", "tags", "ids"])
def test_the_check_in_parts_refuses_exactly_what_validate_refuses(name):
    """``validate_keys`` over slot ranges (any split) plus ``validate_ids``, as the loader
    runs them in threads, accept a changed table exactly when ``validate`` does."""
    from concurrent.futures import ThreadPoolExecutor

    good = Matcher(ENTRIES, native=True)
    base = tables_of(good)
    n_slots = int(base["mask"][0]) + 1
    keys = [native.validate_keys(*_args(base), lo, hi) for lo, hi in ((0, 5), (5, n_slots))]
    assert sum(k[0] for k in keys) == native.validate(*_args(base))[0]
    seen = {True: 0, False: 0}
    with ThreadPoolExecutor(2) as pool:
        for i in range(base[name].nbytes):
            for flip in (0x01, 0x80):
                t = {k: v.copy() for k, v in base.items()}
                t[name].view(np.uint8)[i] ^= flip
                whole = _accepted(lambda t=t: native.validate(*_args(t)))
                for pieces in (1, 3):
                    parts = kt.validate_parts(t, len(ENTRIES), "x", pool.submit, pieces)
                    assert _accepted(lambda p=parts: [w() for w in p]) == whole, (i, flip)
                seen[whole] += 1
    assert seen[False]  # changes were refused (some of the slots bytes are harmless)


def _args(t: dict[str, np.ndarray]) -> list:
    return [t["slots"], t["tags"], t["blob"], t["ids"], int(t["mask"][0]), len(ENTRIES)]
