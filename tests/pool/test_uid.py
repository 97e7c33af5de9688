"""Row identity: uid and uid_hash are fixed formulas, native and Python agree."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from metacurate.pool import uid as uidmod

M64 = (1 << 64) - 1


def py_fnv(data: bytes, h: int = uidmod.FNV_BASIS) -> int:
    for b in data:
        h = ((h ^ b) * uidmod.FNV_PRIME) & M64
    return h


def py_fmix(x: int) -> int:
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & M64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & M64
    return x ^ (x >> 33)


def test_known_values():
    # FNV-1a 64 test vectors (from the FNV reference): "" and "a"
    assert py_fnv(b"") == 0xCBF29CE484222325
    assert py_fnv(b"a") == 0xAF63DC4C8601EC8C
    got = uidmod.uid_hash(pa.array(["", "a"]))
    assert got.tolist() == [py_fmix(0xCBF29CE484222325), py_fmix(0xAF63DC4C8601EC8C)]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.none() | st.text(max_size=20), max_size=10),
    st.lists(st.none() | st.text(max_size=20), max_size=10),
)
def test_derived_uid_formula(urls, texts):
    n = min(len(urls), len(texts))
    urls, texts = urls[:n], texts[:n]
    got = uidmod.derive_uids(pa.array(urls, pa.string()), pa.array(texts, pa.string()))
    expected = []
    for u, t in zip(urls, texts, strict=True):
        h = py_fnv((u or "").encode())
        h = py_fnv(b"\xff", h)
        h = py_fnv((t or "").encode(), h)
        expected.append(f"{py_fmix(h):016x}")
    assert got.to_pylist() == expected
    hashes = uidmod.uid_hash(got)
    assert hashes.tolist() == [py_fmix(py_fnv(x.encode())) for x in expected]


def test_python_fallback_agrees(monkeypatch):
    arr = pa.array(["x", None, "héllo", ""] * 3)
    native = uidmod.uid_hash(arr)
    monkeypatch.setenv("METACURATE_NO_NATIVE", "1")
    assert uidmod.uid_hash(arr).tolist() == native.tolist()
    assert uidmod.uid_hash(arr.slice(2, 5)).tolist() == native[2:7].tolist()


def test_row_uids_fills_nulls_and_casts():
    text = pa.array(["a", "b", "c"])
    url = pa.array(["u1", "u2", None])
    got = uidmod.row_uids(pa.array([7, None, 9]), url, text).to_pylist()
    assert got[0] == "7" and got[2] == "9"
    assert got[1] == uidmod.derive_uids(url, text).to_pylist()[1]
    assert len(uidmod.hex16(np.array([0, M64], dtype=np.uint64)).to_pylist()[1]) == 16
