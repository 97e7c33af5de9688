"""The content key that chooses the kept copy of a uid: a function of the row's content only."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from metacurate.dedup import row_keys

cells = st.one_of(st.none(), st.text(max_size=12))
rows = st.lists(st.tuples(cells, cells, st.one_of(st.none(), st.integers(-5, 5))), max_size=30)


def table(data: list[tuple]) -> pa.Table:
    text, url, w = (list(c) for c in zip(*data, strict=True)) if data else ([], [], [])
    return pa.table(
        {
            "text": pa.array(text, pa.string()),
            "url": pa.array(url, pa.string()),
            "w": pa.array(w, pa.int64()),
        }  # fmt: skip
    )


@settings(max_examples=200, deadline=None)
@given(rows, st.integers(0, 30))
def test_key_depends_on_the_row_only(data, cut):
    t = table(data)
    whole = row_keys(t)
    split = np.concatenate([row_keys(t.slice(0, cut)), row_keys(t.slice(cut))])
    assert np.array_equal(whole, split)  # not on the batch
    assert np.array_equal(whole, row_keys(t.select(["w", "url", "text"])))  # nor column order
    same = [data.index(r) for r in data]  # equal rows, equal keys
    assert np.array_equal(whole, whole[same])


def test_key_tells_values_apart():
    t = pa.table(
        {
            "text": pa.array(["a", "a", None, "", "ab", "ab", "a"], pa.string()),
            "url": pa.array(["u", "u", "u", "u", "u", None, "bu"], pa.string()),
        }
    )
    k = row_keys(t)
    assert k[0] == k[1]
    assert len(set(k[1:].tolist())) == 6  # null vs "", and no concatenation ambiguity


def test_key_of_numbers_ignores_their_width_and_handles_nested():
    a = pa.table({"w": pa.array([1, 2], pa.int32()), "l": pa.array([[1], None])})
    b = pa.table({"w": pa.array([1, 2], pa.int64()), "l": pa.array([[1], None])})
    assert np.array_equal(row_keys(a), row_keys(b))
    assert row_keys(a)[0] != row_keys(a)[1]
