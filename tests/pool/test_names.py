"""A file or output folder name that is not valid UTF-8 (a latin-1 byte in the name) is one
line naming it, and no output folder is left behind."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from tests.reliability.conftest import cli, one_line_error

LATIN1 = "caf\udce9"  # the byte 0xe9 in a file name, as Python sees it (surrogateescape)


def _pool(folder):
    folder.mkdir()
    pq.write_table(pa.table({"text": ["a photo of a dog"] * 50}), folder / "x.parquet")
    (folder / "x.parquet").rename(folder / f"{LATIN1}.parquet")  # pyarrow cannot write it
    return folder


def test_an_input_name_that_is_not_utf8_is_one_line(tmp_path):
    pool = _pool(tmp_path / "pool")
    out = tmp_path / "out"
    line = one_line_error(cli("curate", pool, "--out", out, "--t", "5"))
    assert "caf\\xe9.parquet" in line and "not valid UTF-8" in line
    assert not out.exists()


def test_an_out_name_that_is_not_utf8_is_one_line(tmp_path):
    pq.write_table(pa.table({"text": ["a photo of a dog"] * 50}), tmp_path / "p.parquet")
    out = tmp_path / LATIN1
    line = one_line_error(cli("curate", tmp_path / "p.parquet", "--out", out, "--t", "5"))
    assert "--out" in line and "not valid UTF-8" in line
    assert not out.exists()
