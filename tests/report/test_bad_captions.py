"""Captions that are not valid UTF-8 are counted by the match stage and shown (with U+FFFD) by
the report and its examples, in every input format; they never end the run."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate.api import curate
from metacurate.report import write_report

GOOD = [f"a photo of a dog number {i}".encode() for i in range(300)]
BAD = b"caf\xe9 with a dog"


def _pool(tmp_path: Path, fmt: str) -> Path:
    texts = [*GOOD[:5], BAD, *GOOD[5:]]
    urls = [f"http://x/{i}.jpg".encode() for i in range(len(texts))]
    if fmt in ("tsv", "csv"):
        sep = b"\t" if fmt == "tsv" else b","
        lines = [b"text" + sep + b"url"] + [t + sep + u for t, u in zip(texts, urls, strict=True)]
        path = tmp_path / f"p.{fmt}"
        path.write_bytes(b"\n".join(lines) + b"\n")
    elif fmt == "jsonl":
        path = tmp_path / "p.jsonl"
        path.write_bytes(
            b"".join(
                b'{"text": "' + t + b'", "url": "' + u + b'"}\n'
                for t, u in zip(texts, urls, strict=True)
            )
        )
    elif fmt == "webdataset":
        path = tmp_path / "p.tar"
        with tarfile.open(path, "w") as tar:
            for i, t in enumerate(texts):
                info = tarfile.TarInfo(f"{i:05d}.txt")
                info.size = len(t)
                tar.addfile(info, io.BytesIO(t))
    else:  # a Parquet binary caption column
        path = tmp_path / "p.parquet"
        pq.write_table(pa.table({"text": pa.array(texts, pa.binary()), "url": urls}), path)
    return path


@pytest.mark.parametrize("fmt", ["tsv", "csv", "jsonl", "webdataset", "parquet"])
def test_invalid_utf8_caption_is_counted_and_shown(tmp_path, fmt):
    pool = _pool(tmp_path, fmt)
    out = tmp_path / "out"
    curate(str(pool), str(out), t=5.0, seed=1, workers=1)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rows"] == 301 and stats["rows_invalid_utf8"] == 1
    page = (out / "report.html").read_text()
    assert "caf\ufffd with a dog" in page
    (out / "report.html").unlink()
    write_report(str(out))  # `metacurate report` reads the same way
    assert (out / "report.html").exists()
