"""The memory-mapped uid index against a naive dict over the side-car rows, including duplicate
rows, uids with several match sets, and 64-bit hash collisions (forced through the side-car's
uid_hash column); the scalar uid hash and the sample reader against their references."""

from __future__ import annotations

import json
import os
from itertools import count
from pathlib import Path
from unittest import mock

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metacurate import MetacurateError
from metacurate.files import write_json
from metacurate.online.samples import SampleFields, SampleReader
from metacurate.online.uid_index import UidIndex, build_uid_index, uid_hash_one
from metacurate.pool.uid import uid_hash

_RUN = count()

row = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "é", "00ff", "x" * 40, ""]),  # uid
    st.lists(st.integers(0, 30), max_size=5, unique=True).map(sorted),  # match set
    st.booleans(),  # fake the hash: collide with uid "a"
)


def _fake_workdir(root: Path, rows: list[tuple[str, list[int], bool]], files: int) -> Path:
    """A work directory with only what the index reads: stats.json and side-cars."""
    root.mkdir(parents=True)
    (root / "matches").mkdir()
    inputs = []
    uids = [u for u, _, _ in rows]
    hashes = uid_hash(pa.array(uids, pa.string())) if rows else np.zeros(0, np.uint64)
    a_hash = uid_hash(pa.array(["a"]))[0]
    hashes = np.where([f for _, _, f in rows], a_hash, hashes).astype(np.uint64)
    bounds = np.linspace(0, len(rows), files + 1).astype(int)
    for f in range(files):
        lo, hi = bounds[f], bounds[f + 1]
        task = f"part{f}"
        pq.write_table(
            pa.table(
                {
                    "row": pa.array(np.arange(lo, hi, dtype=np.int64)),
                    "uid": pa.array(uids[lo:hi], pa.string()),
                    "uid_hash": pa.array(hashes[lo:hi], pa.uint64()),
                    "entry_ids": pa.array([s for _, s, _ in rows[lo:hi]], pa.list_(pa.int32())),
                }
            ),
            root / "matches" / f"{task}.parquet",
        )
        inputs.append({"task_id": task, "fingerprint": {}, "rows": int(hi - lo), "error": None})
    write_json(root / "stats.json", {"metadata": {"hash": "test"}, "inputs": inputs})
    return root


def _reference(rows, hashes_by_row, uid: str):
    """Match set of ``uid`` by the naive rule; 'ambiguous' or None (not a row)."""
    want = uid_hash_one(uid)
    pairs = zip(rows, hashes_by_row, strict=True)
    sets = {tuple(s) for (u, s, _), h in pairs if u == uid and h == want}
    if not sets:
        return None
    return sets.pop() if len(sets) == 1 else "ambiguous"


@given(rows=st.lists(row, max_size=40), files=st.integers(1, 3))
def test_index_equals_naive_lookup(tmp_path_factory, rows, files):
    root = tmp_path_factory.mktemp("uidx") / f"w{next(_RUN)}"
    wd = _fake_workdir(root, rows, files)
    index = UidIndex(build_uid_index(wd))
    a_hash = uid_hash_one("a")
    hashes = [a_hash if fake else uid_hash_one(u) for u, _, fake in rows]
    queries = ["a", "b", "c", "d", "é", "00ff", "x" * 40, "", "unknown"]
    for q in queries:
        ref = _reference(rows, hashes, q)
        if ref == "ambiguous":
            with pytest.raises(MetacurateError, match="several pool rows"):
                index.position(q)
            with pytest.raises(MetacurateError, match="several pool rows"):
                index.positions([q])
            continue
        pos = index.position(q)
        assert (pos >= 0) == (ref is not None)
        assert index.positions([q]).tolist() == [pos]
        if ref is not None:
            assert index.entry_ids(np.array([pos])).to_pylist() == [list(ref)]
    unambiguous = [q for q in queries if _reference(rows, hashes, q) != "ambiguous"]
    pos = index.positions(unambiguous)  # vectorised, several at once
    assert pos.tolist() == [index.position(q) for q in unambiguous]
    expect = [list(_reference(rows, hashes, q) or []) for q in unambiguous]
    assert index.entry_ids(pos).to_pylist() == expect
    chunks = list(index.chunks(rows=7))
    assert sum(len(h) for h, _ in chunks) == len(index)


def test_rebuild_is_skipped_and_half_built_folder_replaced(tmp_path):
    wd = _fake_workdir(tmp_path / "w", [("a", [1], False), ("b", [], False)], 1)
    d = build_uid_index(wd)
    assert build_uid_index(wd) == d
    assert json.loads((d / "index.json").read_text())["rows"] == 2
    other = tmp_path / "half"
    other.mkdir()
    (other / "uid_hash.npy").write_bytes(b"junk")  # a killed build: no index.json
    assert UidIndex(build_uid_index(wd, other)).position("a") >= 0


@given(st.text(max_size=50))
def test_scalar_uid_hash_equals_vectorised(uid):
    try:
        uid.encode("utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates are no Arrow strings
    want = int(uid_hash(pa.array([uid], pa.string()))[0])
    assert uid_hash_one(uid) == want
    with mock.patch.dict(os.environ, {"METACURATE_NO_NATIVE": "1"}):  # the Python loop
        assert uid_hash_one(uid) == want


json_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
)


def _naive_uid(sample, fields):
    meta = sample.get("json")
    if meta is not None:
        data = meta if isinstance(meta, dict) else json.loads(meta)
        if data.get(fields.uid_field) is not None:
            return str(data[fields.uid_field])
    key = sample["__key__"]
    return key.decode() if isinstance(key, bytes) else str(key)


@given(
    meta=st.dictionaries(st.sampled_from(["uid", "caption", "text", "url"]), json_value),
    form=st.sampled_from(["bytes", "str", "dict", "absent"]),
    indent=st.sampled_from([None, 4]),
)
def test_sample_reader_fast_path_equals_json(meta, form, indent):
    fields = SampleFields()
    raw = json.dumps(meta, indent=indent)
    sample = {"__key__": "k1"}
    if form != "absent":
        sample["json"] = {"bytes": raw.encode(), "str": raw, "dict": meta}[form]
    reader = SampleReader(fields)
    assert reader.uid(sample) == _naive_uid(sample, fields)
    caption = reader.caption(sample)
    data = meta if form != "absent" else {}
    ref = next((data[n] for n in ("caption", "text") if data.get(n) is not None), None)
    assert caption == (None if ref is None else ref if isinstance(ref, str) else str(ref))
    sample["txt"] = b"from txt"
    assert reader.caption(sample) == b"from txt"


def test_sample_reader_errors():
    reader = SampleReader(SampleFields())
    with pytest.raises(MetacurateError, match="not valid JSON"):
        reader.uid({"__key__": "k", "__url__": "s.tar", "json": b"{broken"})
    with pytest.raises(MetacurateError, match="not a JSON object"):
        reader.uid({"__key__": "k", "json": b"[1, 2]"})
    with pytest.raises(MetacurateError, match="save_additional_columns"):
        reader.uid({"json": b"{}"})
