"""Differential check: one pool given as Parquet, JSONL, JSONL.gz, TSV and WebDataset gives
the same curated rows (uid, url, caption, matches, keep_prob), in the same order."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate.api import curate
from metacurate.demo import make_sample
from metacurate.metadata import load_default_metadata

COMPARED = ["uid", "url", "text", "entry_ids", "keep_prob"]


def _write(table: pa.Table, folder: Path, kind: str) -> Path:
    rows = table.to_pylist()
    if kind == "parquet":
        path = folder / "pool.parquet"
        pq.write_table(table, path)
    elif kind in ("jsonl", "jsonl.gz"):
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
        path = folder / f"pool.{kind}"
        path.write_bytes(gzip.compress(data) if kind.endswith(".gz") else data)
    elif kind == "tsv":
        path = folder / "pool.tsv"
        lines = ["uid\turl\ttext"] + [f"{r['uid']}\t{r['url']}\t{r['text'] or ''}" for r in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:  # WebDataset: the caption in .txt, uid and url in .json
        path = folder / "pool.tar"
        with tarfile.open(path, "w") as tar:
            for i, r in enumerate(rows):
                members = [(f"{i:08d}.json", json.dumps({"uid": r["uid"], "url": r["url"]}))]
                if r["text"] is not None:  # no .txt: a null caption
                    members.append((f"{i:08d}.txt", r["text"]))
                for name, text in members:
                    data = text.encode()
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> pa.Table:
    path = tmp_path_factory.mktemp("diff") / "s.parquet"
    table = pq.read_table(make_sample(path, load_default_metadata(), rows=3000, seed=11))
    table = table.select(["uid", "url", "text"])
    for text in filter(None, table.column("text").to_pylist()):  # TSV cannot hold these
        assert "\t" not in text and "\n" not in text and "\r" not in text
    return table


def _curated(pool: pa.Table, kind: str, tmp_path: Path) -> pa.Table:
    folder = tmp_path / kind
    folder.mkdir()
    path = _write(pool, folder, kind)
    out = tmp_path / f"out-{kind}"
    curate(str(path), str(out), t=5.0, seed=3, workers=1, report=False)
    return pq.read_table(out / "curated").select(COMPARED)


def test_every_format_curates_the_same_rows(pool, tmp_path):
    reference = _curated(pool, "parquet", tmp_path)
    assert 0 < reference.num_rows < pool.num_rows
    for kind in ("jsonl", "jsonl.gz", "tsv", "webdataset"):
        got = _curated(pool, kind, tmp_path)
        assert got.column_names == COMPARED
        for name in COMPARED:
            assert got.column(name).to_pylist() == reference.column(name).to_pylist(), (kind, name)
