"""Every format streams the same rows, in order, in bounded batches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate.pool import (
    ReadOptions,
    Source,
    expand_pool,
    read_batches,
    read_schema,
    resolve_columns,
)
from tests.pool.helpers import ROWS, WRITERS, write_kind, write_wds

DEFAULT = ReadOptions()
TSV_OPTIONS = ReadOptions(csv_columns=("caption", "url"))


def _options(kind: str, **kw) -> ReadOptions:
    return ReadOptions(csv_columns=("caption", "url") if kind == "tsv" else None, **kw)


def _read(path, options: ReadOptions = DEFAULT, columns=None) -> pa.Table:
    (source,) = expand_pool([str(path)])
    schema = read_schema(source, options)
    batches = list(read_batches(source, options, columns))
    return pa.Table.from_batches(batches, schema=None if batches else schema)


@pytest.mark.parametrize("kind", list(WRITERS))
def test_same_rows_through_every_format(tmp_path, kind):
    path = write_kind(kind, tmp_path, ROWS)
    (source,) = expand_pool([str(path)])
    options = _options(kind)
    cols = resolve_columns(read_schema(source, options), where=source.path)
    table = _read(path, options, columns=[cols.text, cols.url])
    assert table.column_names == [cols.text, cols.url]
    assert table.column(0).to_pylist() == [t for t, _ in ROWS]
    assert table.column(1).to_pylist() == [u for _, u in ROWS]
    for batch in read_batches(source, options):
        assert batch.schema.equals(read_schema(source, options))


@pytest.mark.parametrize(
    ("kind", "fmt"),
    [("jsonl.gz", "jsonl"), ("csv.gz", "csv"), ("tsv", "tsv"), ("wds-txt", "webdataset")],
)
def test_formats_detected(tmp_path, kind, fmt):
    (source,) = expand_pool([str(write_kind(kind, tmp_path, ROWS))])
    assert source.format == fmt


def test_csv_columns_are_strings_without_inference(tmp_path):
    path = tmp_path / "nums.csv"
    path.write_text("text,uid,score\nhello,007,1.50\nworld,010,2\n")
    table = _read(path)
    assert table.schema == pa.schema(
        [("text", pa.string()), ("uid", pa.string()), ("score", "string")]
    )
    assert table.column("uid").to_pylist() == ["007", "010"]
    assert table.column("score").to_pylist() == ["1.50", "2"]


def test_csv_quoted_newlines_and_tsv_quotes(tmp_path):
    csv_path = tmp_path / "q.csv"
    csv_path.write_text('text,url\n"two\nlines, one ""quote""",http://a\nplain,http://b\n')
    assert _read(csv_path).column("text").to_pylist() == ['two\nlines, one "quote"', "plain"]
    tsv_path = tmp_path / "q.tsv"
    tsv_path.write_text('"starts with a quote\thttp://a\nends" odd "\thttp://b\n')
    table = _read(tsv_path, TSV_OPTIONS)
    assert table.column("caption").to_pylist() == ['"starts with a quote', 'ends" odd "']


def test_tsv_with_header(tmp_path):
    path = tmp_path / "h.tsv"
    path.write_text("caption\turl\nhello\thttp://a\n")
    assert _read(path).to_pylist() == [{"caption": "hello", "url": "http://a"}]


def test_webdataset_columns(tmp_path):
    txt = _read(write_wds(tmp_path / "a.tar", ROWS[:2], "txt"))
    assert txt.column_names == ["__key__", "text", "url", "key", "width", "ok"]
    row = txt.to_pylist()[0]
    assert row == {
        "__key__": "000000000",
        "text": ROWS[0][0],
        "url": ROWS[0][1],
        "key": "000000000",
        "width": "640",
        "ok": "true",
    }
    js = _read(write_wds(tmp_path / "b.tar", ROWS[:2], "json"))
    assert js.column_names == ["__key__", "text", "url", "key", "width", "ok", "caption"]
    assert js.column("text").to_pylist() == js.column("caption").to_pylist()
    assert all(t == pa.string() for t in js.schema.types)
    cols = resolve_columns(js.schema)
    assert (cols.text, cols.url, cols.uid) == ("text", "url", None)  # per-run keys: no uid


def test_webdataset_keys_options_and_missing_members(tmp_path):
    path = write_wds(tmp_path / "c.tar", ROWS[:2], "txt", prefix="shard/00/")
    table = _read(path)
    assert table.column("__key__").to_pylist() == ["shard/00/000000000", "shard/00/000000001"]
    # caption from another json field when the text extension is absent
    options = ReadOptions(wds_text_key="caption.txt", wds_json_field="url")
    assert _read(path, options).column("text").to_pylist() == [u for _, u in ROWS[:2]]


def test_jsonl_null_first_then_strings_and_new_fields(tmp_path):
    path = tmp_path / "n.jsonl"
    lines = ['{"text": "a", "url": null}'] * 3 + ['{"text": "b", "url": "http://b", "new": 1}']
    path.write_text("\n".join(lines) + "\n")
    options = ReadOptions(block_bytes=64)  # several blocks: the null block comes first
    table = _read(path, options)
    assert table.column_names == ["text", "url"]
    assert table.column("url").to_pylist() == [None, None, None, "http://b"]


@pytest.mark.parametrize("kind", list(WRITERS))
def test_batches_bounded_and_ordered(tmp_path, kind):
    rows = [(f"caption number {i}", f"http://example.com/{i}.jpg") for i in range(10_000)]
    path = write_kind(kind, tmp_path, rows)
    (source,) = expand_pool([str(path)])
    options = _options(kind, batch_rows=1000)
    text = resolve_columns(read_schema(source, options)).text
    batches = list(read_batches(source, options, columns=[text]))
    assert len(batches) >= 10
    assert all(0 < b.num_rows <= 1000 for b in batches)
    got = [t for b in batches for t in b.column(0).to_pylist()]
    assert got == [t for t, _ in rows]


def test_long_lines_fit_the_default_block(tmp_path):
    long = "word " * 400_000  # 2 MB caption, bigger than pyarrow's 1 MB default block
    path = tmp_path / "long.tsv"
    path.write_text(f"{long}\thttp://a\nshort\thttp://b\n")
    table = _read(path, TSV_OPTIONS)
    assert table.column("caption").to_pylist() == [long, "short"]


def test_parquet_streams_with_bounded_memory(tmp_path):
    """A ~50 MB Parquet file of 10 row groups never sits in memory whole."""
    n, width = 100_000, 500
    data = np.frombuffer(np.random.default_rng(0).bytes(n * width // 2), dtype=np.uint8)
    hexed = np.char.encode(np.array([data.tobytes().hex()]), "ascii")[0]
    offsets = pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int32))
    text = pa.StringArray.from_buffers(n, offsets.buffers()[1], pa.py_buffer(hexed))
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"text": text}), path, row_group_size=n // 10, compression="none")
    del data, hexed, offsets, text
    size = path.stat().st_size
    assert size > 45e6

    source = Source(str(path), "parquet")
    baseline = pa.total_allocated_bytes()
    peak, rows, first_batch_peak = 0, 0, None
    for batch in read_batches(source, ReadOptions(batch_rows=1000)):
        peak = max(peak, pa.total_allocated_bytes() - baseline)
        if first_batch_peak is None:
            first_batch_peak = peak
        rows += batch.num_rows
        assert batch.num_rows <= 1000
    assert rows == n
    assert first_batch_peak < size / 4  # the first batch arrives before the file is read
    assert peak < size / 4, f"peak Arrow allocation {peak} for a {size}-byte file"
