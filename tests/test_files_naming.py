"""A full disk seen by a writer names the file it was writing (docs/reliability.md promises
the path), not "the output folder"."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq

from tests.reliability.conftest import cli, one_line_error, tmpfs


def test_disk_full_names_the_file(tmp_path):
    texts = [f"a photo of a dog and a cat number {i}" for i in range(20_000)]
    pq.write_table(pa.table({"text": texts}), tmp_path / "p.parquet")
    with tmpfs(tmp_path / "small", "64m") as mnt:
        work = mnt / "out"
        assert cli("match", tmp_path / "p.parquet", "--out", work, "--workers", "1").returncode == 0
        (mnt / "filler").write_bytes(b"\0" * max(0, shutil.disk_usage(mnt).free - 16 * 1024))
        line = one_line_error(cli("balance", work, "--out", work, "--t", "5", "--workers", "1"))
        assert "no space left" in line
        assert f"{work}/" in line and "the output folder:" not in line
