"""Writers that build small pool files of every format from the same rows."""

from __future__ import annotations

import csv
import gzip
import io
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# Captions with the characters that trip up readers: quotes, commas, apostrophes, non-ASCII.
ROWS: list[tuple[str, str]] = [
    ('a photo of a "red" car, parked', "http://example.com/1.jpg"),
    ("ein Hund, der über die Wiese läuft", "http://example.com/2.jpg"),
    ("the cat 's toy", "https://example.com/3.png?x=1&y=2"),
    ("café — 日本語のキャプション", "http://example.com/4.jpg"),
    ('he said "hi" then left', "http://example.com/5.jpg"),
]


def write_parquet(path: Path, rows: Sequence[tuple[str, str]], row_group_size: int | None = None):
    table = pa.table({"url": [u for _, u in rows], "text": [t for t, _ in rows]})
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def write_jsonl(path: Path, rows: Sequence[tuple[str, str]]) -> Path:
    lines = "".join(
        json.dumps({"caption": t, "url": u, "uid": f"{i:06d}"}, ensure_ascii=False) + "\n"
        for i, (t, u) in enumerate(rows)
    ).encode()
    path.write_bytes(gzip.compress(lines) if path.suffix == ".gz" else lines)
    return path


def write_csv(path: Path, rows: Sequence[tuple[str, str]], header: bool = True) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(["text", "url"])
    w.writerows(rows)
    data = buf.getvalue().encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_tsv(path: Path, rows: Sequence[tuple[str, str]], header: bool = False) -> Path:
    lines = ["caption\turl"] if header else []
    lines += [f"{t}\t{u}" for t, u in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_wds(
    path: Path, rows: Sequence[tuple[str, str]], caption_in: str = "txt", prefix: str = ""
) -> Path:
    """A WebDataset shard: per sample a .jpg, a .json and (caption_in="txt") a .txt."""
    with tarfile.open(path, "w") as tar:
        for i, (text, url) in enumerate(rows):
            key = f"{prefix}{i:09d}"
            _add(tar, f"{key}.jpg", b"\xff\xd8 not really a jpeg " * 10)
            meta: dict = {"url": url, "key": key, "width": 640, "ok": True, "exif": {"a": 1}}
            if caption_in == "txt":
                _add(tar, f"{key}.txt", text.encode())
            else:
                meta["caption"] = text
            _add(tar, f"{key}.json", json.dumps(meta).encode())
    return path


WRITERS = {
    "parquet": ("pool.parquet", write_parquet),
    "jsonl": ("pool.jsonl", write_jsonl),
    "jsonl.gz": ("pool.jsonl.gz", write_jsonl),
    "csv": ("pool.csv", write_csv),
    "csv.gz": ("pool.csv.gz", write_csv),
    "tsv": ("pool.tsv", write_tsv),
    "wds-txt": ("pool.tar", lambda p, r: write_wds(p, r, "txt")),
    "wds-json": ("pool.tar", lambda p, r: write_wds(p, r, "json")),
}


def write_kind(kind: str, folder: Path, rows: Sequence[tuple[str, str]]) -> Path:
    """Write `rows` as pool file kind `kind` under `folder`."""
    name, writer = WRITERS[kind]
    return writer(folder / name, rows)
