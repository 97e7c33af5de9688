"""The shared sample files: LAION Parquet and CC3M TSV read with no surprises."""

from __future__ import annotations

import csv

from metacurate.pool import ReadOptions, expand_pool, read_batches, read_schema, resolve_columns
from tests.conftest import shared_file


def test_laion_parquet_resolves_without_flags():
    path = shared_file("captions/laion_sample_10k.parquet")
    (source,) = expand_pool([str(path)])
    assert source.format == "parquet"
    cols = resolve_columns(read_schema(source), where=source.path)
    assert (cols.text, cols.url) == ("TEXT", "URL")
    rows = sum(b.num_rows for b in read_batches(source, columns=[cols.text, cols.url]))
    assert rows == 10_000


def test_cc3m_tsv_matches_python_csv():
    path = shared_file("captions/cc3m_validation.tsv")
    (source,) = expand_pool([str(path)])
    assert source.format == "tsv"
    options = ReadOptions(csv_columns=("caption", "url"))
    cols = resolve_columns(read_schema(source, options))
    assert (cols.text, cols.url) == ("caption", "url")
    batches = list(read_batches(source, options, columns=["caption", "url"]))
    captions = [c for b in batches for c in b.column("caption").to_pylist()]
    urls = [u for b in batches for u in b.column("url").to_pylist()]
    with open(path, newline="", encoding="utf-8") as f:
        expected = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert len(captions) == 15_833 == len(expected)
    assert captions == [row[0] for row in expected]
    assert urls == [row[1] for row in expected]
