"""Column layouts real files have: a result, or one line naming the file and the column."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate.api import curate
from metacurate.errors import MetacurateError

N = 300
TEXTS = [f"a photo of a dog {i}" for i in range(N)]
URLS = [f"http://x/{i}.jpg" for i in range(N)]


def _run(tmp_path, table: pa.Table, name: str = "p.parquet"):
    path = tmp_path / name
    pq.write_table(table, path)
    return curate(str(path), str(tmp_path / f"out-{name}"), t=5.0, seed=1, workers=1, report=False)


def _refused(tmp_path, table: pa.Table) -> str:
    with pytest.raises(MetacurateError) as err:
        _run(tmp_path, table)
    msg = str(err.value)
    assert str(tmp_path / "p.parquet") in msg and "\n" not in msg
    return msg


def test_two_columns_of_one_name_are_refused(tmp_path):
    table = pa.Table.from_arrays([pa.array(TEXTS), pa.array(URLS)], names=["text", "text"])
    assert "'text' appears 2 times" in _refused(tmp_path, table)


@pytest.mark.parametrize(
    "uid",
    [
        pa.array([[i] for i in range(N)]),
        pa.array([{"a": i} for i in range(N)]),
        pa.array([b"\xff%d" % i for i in range(N)], pa.binary()),
    ],
    ids=["list", "struct", "binary-not-utf8"],
)
def test_a_uid_column_that_has_no_text_form_is_refused(tmp_path, uid):
    msg = _refused(tmp_path, pa.table({"text": TEXTS, "url": URLS, "uid": uid}))
    assert "'uid'" in msg and "--uid-column" in msg


def test_binary_and_integer_uids_are_read(tmp_path):
    for k, uid in enumerate([pa.array([b"u%d" % i for i in range(N)]), pa.array(range(N))]):
        m = _run(tmp_path, pa.table({"text": TEXTS, "uid": uid}), f"{k}.parquet")
        assert m["curated_rows"] > 0


def test_string_view_captions_curate_like_strings(tmp_path):
    plain = _run(tmp_path, pa.table({"text": TEXTS, "url": URLS}), "plain.parquet")
    view = pa.table({"text": pa.array(TEXTS, pa.string_view()), "url": URLS})
    viewed = _run(tmp_path, view, "view.parquet")
    a = pq.read_table(tmp_path / "out-plain.parquet" / "curated")
    b = pq.read_table(tmp_path / "out-view.parquet" / "curated")
    assert plain["curated_rows"] == viewed["curated_rows"] > 0
    assert a.column("uid").to_pylist() == b.column("uid").to_pylist()
    assert a.column("text").to_pylist() == b.column("text").to_pylist()
