"""Broken, empty and odd files: a MetacurateError naming the file, or nothing at all."""

from __future__ import annotations

import gzip
import io
import os
import tarfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate.errors import MetacurateError
from metacurate.pool import ReadOptions, Source, read_batches, read_schema
from tests.pool.helpers import ROWS, write_csv, write_parquet, write_wds

DEFAULT = ReadOptions()


def _all(source: Source, options: ReadOptions = DEFAULT, columns=None):
    return list(read_batches(source, options, columns))


def _expect_error(source: Source, options: ReadOptions = DEFAULT) -> str:
    with pytest.raises(MetacurateError) as err:
        read_schema(source, options)
        _all(source, options)
    msg = str(err.value)
    assert msg.startswith(source.path + ": ")
    assert "Traceback" not in msg and "\n" not in msg
    return msg


def test_missing_column_lists_columns_found(tmp_path):
    for source, options in [
        (Source(str(write_parquet(tmp_path / "a.parquet", ROWS)), "parquet"), ReadOptions()),
        (Source(str(write_csv(tmp_path / "a.csv", ROWS)), "csv"), ReadOptions()),
        (Source(str(write_wds(tmp_path / "a.tar", ROWS)), "webdataset"), ReadOptions()),
    ]:
        with pytest.raises(MetacurateError) as err:
            _all(source, options, columns=["text", "nope"])
        msg = str(err.value)
        assert source.path in msg and "'nope'" in msg and "columns found:" in msg
        assert "text" in msg.split("columns found:")[1]


def test_random_bytes_parquet(tmp_path):
    p = tmp_path / "junk.parquet"
    p.write_bytes(os.urandom(5000))
    assert "Parquet" in _expect_error(Source(str(p), "parquet"))


def test_truncated_parquet(tmp_path):
    p = write_parquet(tmp_path / "t.parquet", ROWS * 100)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    _expect_error(Source(str(p), "parquet"))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_truncated_gzip(tmp_path, fmt):
    p = tmp_path / f"t.{fmt}.gz"
    line = '{"text": "a caption here", "url": "http://a"}\n' if fmt == "jsonl" else "a,b\n"
    data = gzip.compress((line * 20_000).encode())
    p.write_bytes(data[: len(data) // 2])
    _expect_error(Source(str(p), fmt))


def test_truncated_and_corrupt_tar(tmp_path):
    p = write_wds(tmp_path / "t.tar", ROWS * 20)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2 + 100])
    _expect_error(Source(str(p), "webdataset"))
    p.write_bytes(os.urandom(4096))
    _expect_error(Source(str(p), "webdataset"))


def test_bad_json_lines(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"text": "ok"}\n{"text": \n')
    assert "JSON" in _expect_error(Source(str(p), "jsonl"))
    p.write_text('[{"text": "a json array, not lines"}]\n')
    _expect_error(Source(str(p), "jsonl"))


def test_misshapen_csv_rows(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("text,url\na,b,c\n")
    assert "columns" in _expect_error(Source(str(p), "csv"))
    t = tmp_path / "m.tsv"
    t.write_text("a\tb\tc\n")
    _expect_error(Source(str(t), "tsv"), ReadOptions(csv_columns=("caption", "url")))


def test_missing_file(tmp_path):
    msg = _expect_error(Source(str(tmp_path / "gone.csv"), "csv"))
    assert "not found" in msg


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_invalid_utf8_does_not_crash(tmp_path, fmt):
    sep = b"," if fmt == "csv" else b"\t"
    p = tmp_path / f"u.{fmt}"
    p.write_bytes(b"text" + sep + b"url\nbad \xff\xfe bytes" + sep + b"http://a\nok" + sep + b"b\n")
    (batch,) = _all(Source(str(p), fmt))
    assert batch.num_rows == 2
    assert batch.column("url").to_pylist() == ["http://a", "b"]
    # the raw bytes survive for the matcher to flag
    texts = batch.column("text").cast(pa.binary()).to_pylist()
    assert texts == [b"bad \xff\xfe bytes", b"ok"]


def test_invalid_utf8_in_webdataset_caption(tmp_path):
    p = tmp_path / "u.tar"
    with tarfile.open(p, "w") as tar:
        info = tarfile.TarInfo("0001.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"a\xffb"))
    (batch,) = _all(Source(str(p), "webdataset"))
    assert batch.column("text").cast(pa.binary()).to_pylist() == [b"a\xffb"]


def _empty_files(tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    (tmp_path / "e.tsv").write_bytes(b"")
    (tmp_path / "e.jsonl").write_bytes(b"")
    (tmp_path / "e.jsonl.gz").write_bytes(gzip.compress(b""))
    (tmp_path / "h.csv").write_text("text,url\n")
    (tmp_path / "e.parquet").write_bytes(b"")
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), tmp_path / "z.parquet")
    (tmp_path / "e.tar").write_bytes(b"")
    with tarfile.open(tmp_path / "z.tar", "w"):
        pass
    return [
        Source(str(tmp_path / n), f)
        for n, f in [
            ("e.csv", "csv"),
            ("e.tsv", "tsv"),
            ("e.jsonl", "jsonl"),
            ("e.jsonl.gz", "jsonl"),
            ("h.csv", "csv"),
            ("e.parquet", "parquet"),
            ("z.parquet", "parquet"),
            ("e.tar", "webdataset"),
            ("z.tar", "webdataset"),
        ]
    ]


def test_empty_files_are_fine(tmp_path):
    for source in _empty_files(tmp_path):
        read_schema(source)
        assert sum(b.num_rows for b in _all(source)) == 0, source
    # the columns that are known without rows are still reported
    assert read_schema(Source(str(tmp_path / "h.csv"), "csv")).names == ["text", "url"]
    assert read_schema(Source(str(tmp_path / "z.parquet"), "parquet")).names == ["text"]
    assert read_schema(Source(str(tmp_path / "z.tar"), "webdataset")).names == ["__key__", "text"]
    named = ReadOptions(csv_columns=("caption", "url"))
    assert read_schema(Source(str(tmp_path / "e.tsv"), "tsv"), named).names == ["caption", "url"]
    assert _all(Source(str(tmp_path / "e.tsv"), "tsv"), named, columns=["caption"]) == []


@pytest.mark.parametrize("fmt", ["tsv", "csv", "jsonl"])
@pytest.mark.parametrize("where", ["first", "later"])
def test_a_row_longer_than_the_block_is_read_with_a_larger_block(tmp_path, fmt, where):
    """A caption over the parse block (16 MiB by default) said "raise ReadOptions.block_bytes",
    which no flag sets; the block now grows until the row fits, each row read once."""
    long = "x" * 3000
    rows = [f"row {i}" for i in range(200)]
    rows.insert(0 if where == "first" else 150, long)
    p = tmp_path / f"l.{fmt}"
    if fmt == "jsonl":
        p.write_text("".join(f'{{"caption": "{r}", "url": "u"}}\n' for r in rows))
    else:
        sep = "\t" if fmt == "tsv" else ","
        p.write_text(f"caption{sep}url\n" + "".join(f"{r}{sep}u\n" for r in rows))
    options = ReadOptions(block_bytes=256, batch_rows=7)
    src = Source(str(p), fmt)
    assert read_schema(src, options).names == ["caption", "url"]
    got = [x for b in _all(src, options, columns=["caption"]) for x in b.column(0).to_pylist()]
    assert got == rows


def test_a_row_longer_than_the_largest_block_is_one_line(tmp_path, monkeypatch):
    from metacurate.pool import readers

    monkeypatch.setattr(readers, "MAX_BLOCK_BYTES", 1024)
    p = tmp_path / "l.tsv"
    p.write_text("a\tb\n" * 100 + "x" * 3000 + "\tb\n")
    options = ReadOptions(csv_columns=("caption", "url"), block_bytes=100)
    assert "split or shorten that row" in _expect_error(Source(str(p), "tsv"), options)
