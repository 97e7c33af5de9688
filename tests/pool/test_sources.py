"""expand_pool: files, directories and globs in a stable order; detect_format by extension."""

from __future__ import annotations

import os

import pytest

from metacurate.errors import MetacurateError
from metacurate.pool import FORMATS, Source, detect_format, expand_pool, read_batches
from tests.pool.helpers import ROWS, write_jsonl, write_parquet, write_wds


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.parquet", "parquet"),
        ("part-0.snappy.parquet", "parquet"),
        ("a.PQ", "parquet"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson.gz", "jsonl"),
        ("a.json", "jsonl"),
        ("a.json.gz", "jsonl"),
        ("a.csv", "csv"),
        ("a.csv.gz", "csv"),
        ("a.tsv", "tsv"),
        ("a.tsv.gz", "tsv"),
        ("00000.tar", "webdataset"),
        ("00000.tar.gz", "webdataset"),
    ],
)
def test_detect_format(name, fmt):
    assert detect_format(f"/data/{name}") == fmt
    assert fmt in FORMATS


@pytest.mark.parametrize("name", ["a.txt", "a.parquet.7z", "noext", "a.gz"])
def test_unknown_extension_mentions_format_flag(name):
    with pytest.raises(MetacurateError, match="--format") as err:
        detect_format(f"/data/{name}")
    assert name in str(err.value)


def _pool(tmp_path):
    d = tmp_path / "pool"
    (d / "sub").mkdir(parents=True)
    (d / "_tmp").mkdir()
    (d / ".hidden").mkdir()
    for p in [d / "b.parquet", d / "a.parquet", d / "sub" / "c.parquet"]:
        write_parquet(p, ROWS)
    write_parquet(d / "_tmp" / "x.parquet", ROWS)
    write_parquet(d / ".hidden" / "y.parquet", ROWS)
    write_parquet(d / ".z.parquet", ROWS)
    (d / "_SUCCESS").write_text("")
    (d / "README.md").write_text("not data")
    return d


def test_directory_recursive_sorted_skips_hidden(tmp_path):
    d = _pool(tmp_path)
    sources = expand_pool([str(d)])
    assert [os.path.relpath(s.path, d) for s in sources] == [
        "a.parquet",
        "b.parquet",
        os.path.join("sub", "c.parquet"),
    ]
    assert all(s.format == "parquet" and os.path.isabs(s.path) for s in sources)


def test_single_file_relative_path_normalised(tmp_path, monkeypatch):
    d = _pool(tmp_path)
    monkeypatch.chdir(d)
    assert expand_pool(["./sub/../a.parquet"]) == [Source(str(d / "a.parquet"), "parquet")]


def test_glob_sorted_and_mixed_list_order_preserved(tmp_path):
    d = _pool(tmp_path)
    j = write_jsonl(tmp_path / "extra.jsonl", ROWS)
    t = write_wds(tmp_path / "shard.tar", ROWS)
    sources = expand_pool([str(t), str(d / "*.parquet"), str(j), str(d / "a.parquet")])
    assert [os.path.basename(s.path) for s in sources] == [
        "shard.tar",
        "a.parquet",
        "b.parquet",
        "extra.jsonl",
    ]
    assert [s.format for s in sources] == ["webdataset", "parquet", "parquet", "jsonl"]
    recursive = expand_pool([str(d / "**" / "*.parquet")])
    assert [os.path.basename(s.path) for s in recursive] == ["a.parquet", "b.parquet", "c.parquet"]


def test_format_overrides_detection(tmp_path):
    p = tmp_path / "captions.txt"
    p.write_text("hello\thttp://a\n")
    (source,) = expand_pool([str(p)], format="tsv")
    assert source.format == "tsv"
    # In a folder, --format picks that format and files with no known extension.
    d = tmp_path / "out"
    d.mkdir()
    write_wds(d / "00000.tar", ROWS)
    write_parquet(d / "00000.parquet", ROWS)
    (d / "00000_stats.json").write_text("{}")
    (d / "part-1").write_bytes((d / "00000.tar").read_bytes())
    assert [os.path.basename(s.path) for s in expand_pool([str(d)], format="webdataset")] == [
        "00000.tar",
        "part-1",
    ]
    assert sum(len(b) for s in expand_pool([str(d)], "webdataset") for b in read_batches(s)) == 10


def test_bad_format_name():
    with pytest.raises(MetacurateError, match="parquet, jsonl"):
        expand_pool(["x.parquet"], format="xlsx")


def test_nothing_matched_glob_names_pattern(tmp_path):
    pattern = str(tmp_path / "nope-*.parquet")
    with pytest.raises(MetacurateError) as err:
        expand_pool([pattern])
    assert pattern in str(err.value)


def test_missing_file_and_empty_directory(tmp_path):
    with pytest.raises(MetacurateError, match="no such file"):
        expand_pool([str(tmp_path / "missing.parquet")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(MetacurateError, match="holds no"):
        expand_pool([str(tmp_path / "empty")])
    with pytest.raises(MetacurateError, match="no pool paths"):
        expand_pool([])


def test_glob_of_unknown_files_mentions_format(tmp_path):
    (tmp_path / "a.dat").write_text("x")
    with pytest.raises(MetacurateError, match="--format"):
        expand_pool([str(tmp_path / "*.dat")])
    assert len(expand_pool([str(tmp_path / "*.dat")], format="tsv")) == 1


def test_a_pipe_is_refused_not_read_as_empty(tmp_path):
    fifo = tmp_path / "pool.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(MetacurateError, match="a pipe; .* write it to a file first"):
        expand_pool([str(fifo)])
    with pytest.raises(MetacurateError, match="a pipe"):
        expand_pool([str(tmp_path)])  # found in a folder: the same rule
