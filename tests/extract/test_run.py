"""End to end on WARC/WAT files the tests write themselves (no shared data needed)."""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import http.server
import json
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import http_response, warc_record, wat_record, write_warc
from metacurate.errors import MetacurateError
from metacurate.extract import extract
from metacurate.extract.cli import register
from metacurate.extract.run import STATS_FILE

COLUMNS = ["uid", "url", "text", "text_source", "page_url", "warc_file", "record_offset"]


def page_html(i: int) -> bytes:
    return (
        f'<html><head><meta charset="utf-8"><title>p{i}</title></head><body>'
        f'<img src="img/{i}.jpg" alt="picture {i}">'
        f'<img src="https://cdn.example.com/shared.png" alt="shared logo">'
        f'<img src="data:image/gif;base64,R0lGOD" alt="pixel">'
        f'<img src="img/{i}-b.jpg" title="title {i}" data-image-title="dit {i}">'
        f'<img src="img/{i}-none.jpg" alt="">'
        "</body></html>"
    ).encode()


def sample_records(n: int = 4) -> list[bytes]:
    records = [
        warc_record("warcinfo", b"software: test\r\n", content_type="application/warc-fields")
    ]
    for i in range(n):
        url = f"http://site{i}.example.org/dir/page{i}.html"
        records.append(warc_record("request", b"GET / HTTP/1.1\r\n\r\n", url, record_id=2 * i))
        records.append(
            warc_record("response", http_response(page_html(i)), url, record_id=2 * i + 1)
        )
    return records


def read_rows(out: Path) -> list[dict]:
    shards = sorted(out.glob("part-*.parquet"))
    rows = []
    for shard in shards:
        rows += pq.read_table(shard).to_pylist()
    return rows


def test_generated_warc_end_to_end(tmp_path: Path) -> None:
    warc = write_warc(tmp_path / "gen.warc.gz", sample_records(4))
    stats = extract([warc], tmp_path / "out", progress=False)
    rows = read_rows(tmp_path / "out")
    assert [list(r) for r in rows[:1]] == [COLUMNS]
    # per page: alt, shared logo, title, data-image-title; the shared logo repeats 3 times.
    assert len(rows) == 4 * 4 - 3
    total = stats["total"]
    assert (total["html_pages"], total["images_seen"], total["with_text"]) == (4, 20, 16)
    assert (total["pairs"], total["kept"], total["duplicates"]) == (16, 13, 3)
    assert total["relative_urls_resolved"] == 8
    assert total["dropped"] == {"data_uri": 4}
    assert total["errors"] == {}
    assert total["records"] == 9
    first = rows[0]
    assert first["url"] == "http://site0.example.org/dir/img/0.jpg"
    pair = first["url"].encode() + b"\0" + first["text"].encode()
    assert first["uid"] == hashlib.sha256(pair).hexdigest()[:32]
    assert first["page_url"] == "http://site0.example.org/dir/page0.html"
    assert first["warc_file"] == str(warc)
    assert {r["text_source"] for r in rows} == {"alt", "title", "data-image-title"}
    assert not any(r["url"].startswith("data:") for r in rows)
    # record_offset points at the gzip member of the page's response record.
    with open(warc, "rb") as f:
        f.seek(first["record_offset"])
        member = gzip.GzipFile(fileobj=f).read(200)
    assert b"WARC-Type: response" in member and b"page0.html" in member
    assert json.loads((tmp_path / "out" / STATS_FILE).read_text()) == stats


def test_http_encodings_charsets_and_status(tmp_path: Path) -> None:
    html = '<img src="a.jpg" alt="Фото кота">'.encode("cp1251")
    gz_body = gzip.compress(b'<img src="b.jpg" alt="gzipped">')
    chunked = b"%x\r\n" % len(gz_body) + gz_body + b"\r\n0\r\n\r\n"
    records = [
        warc_record(
            "response", http_response(html, "text/html; charset=windows-1251"), "http://a.ru/"
        ),
        warc_record(
            "response",
            http_response(chunked, extra=["Transfer-Encoding: chunked", "Content-Encoding: gzip"]),
            "http://b.org/x/",
        ),
        warc_record("response", http_response(page_html(9), status=404), "http://c.org/"),
        warc_record("response", http_response(b"\x89PNG...", "image/png"), "http://c.org/i.png"),
        warc_record(
            "response",
            http_response(b"\x1f\x8b\x08\x00broken", extra=["Content-Encoding: gzip"]),
            "http://d.org/",
        ),
    ]
    warc = write_warc(tmp_path / "enc.warc", records)
    stats = extract([warc], tmp_path / "out", progress=False)
    rows = read_rows(tmp_path / "out")
    assert [(r["url"], r["text"]) for r in rows] == [
        ("http://a.ru/a.jpg", "Фото кота"),
        ("http://b.org/x/b.jpg", "gzipped"),
    ]
    total = stats["total"]
    assert total["non_2xx_skipped"] == 1
    assert total["html_pages"] == 2
    assert total["errors"] == {"bad_content_encoding": 1}


def test_garbage_record_is_counted_and_skipped(tmp_path: Path) -> None:
    good = sample_records(3)
    garbage = gzip.compress(b"this is not a WARC record\r\n\x00\xff" * 20, mtime=0)
    path = tmp_path / "garbage.warc.gz"
    path.write_bytes(
        b"".join(gzip.compress(r, mtime=0) for r in good[:3])
        + garbage
        + b"raw junk between members"
        + b"".join(gzip.compress(r, mtime=0) for r in good[3:])
    )
    stats = extract([path], tmp_path / "out", progress=False)
    block = stats["files"][str(path)]
    assert block["html_pages"] == 3, "every page around the garbage is still read"
    assert block["error_count"] == 1
    assert set(block["errors"]) <= {"invalid_record", "gzip_error"}
    assert block["error_samples"][0]["reason"] in block["errors"]


def test_truncated_generated_gz(tmp_path: Path) -> None:
    full = write_warc(tmp_path / "full.warc.gz", sample_records(4)).read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(full[: len(full) - 40])
    stats = extract([cut], tmp_path / "out", progress=False)
    block = stats["files"][str(cut)]
    assert block["html_pages"] == 3
    assert block["error_count"] == 1
    assert set(block["errors"]) <= {"truncated_record", "truncated_gzip"}


def test_wat_matches_warc(tmp_path: Path) -> None:
    pages = [
        (
            f"http://site{i}.example.org/dir/page{i}.html",
            [
                {"path": "IMG@/src", "url": f"img/{i}.jpg", "alt": f"picture {i}"},
                {
                    "path": "IMG@/src",
                    "url": "https://cdn.example.com/shared.png",
                    "alt": "shared logo",
                },
                {"path": "IMG@/src", "url": "data:image/gif;base64,R0lGOD", "alt": "pixel"},
                {"path": "IMG@/src", "url": f"img/{i}-b.jpg", "title": f"title {i}"},
                {"path": "IMG@/src", "url": f"img/{i}-none.jpg", "alt": ""},
                {"path": "A@/href", "url": "other.html", "text": "a link"},
            ],
        )
        for i in range(4)
    ]
    wat = write_warc(tmp_path / "gen.warc.wat.gz", [wat_record(u, links) for u, links in pages])
    warc = write_warc(tmp_path / "gen.warc.gz", sample_records(4))
    extract([wat], tmp_path / "wat", progress=False)
    extract([warc], tmp_path / "warc", progress=False)
    from_wat = {(r["url"], r["text"]) for r in read_rows(tmp_path / "wat")}
    from_warc = {
        (r["url"], r["text"])
        for r in read_rows(tmp_path / "warc")
        if r["text_source"] in ("alt", "title")
    }
    assert from_wat == from_warc
    assert len(from_wat) == 9  # 2 per page + the shared logo


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name → bytes)."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_shards_atomic_names_and_determinism(tmp_path: Path) -> None:
    warc = write_warc(tmp_path / "gen.warc.gz", sample_records(4))
    for name in ("a", "b"):
        extract([warc], tmp_path / name, shard_rows=5, progress=False)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == [
        "_extract_files",  # the per-file parts, kept for a rerun
        "_extract_inputs.json",
        STATS_FILE,
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    # the directory reads as one dataset (the stats file starts with "_")
    assert pq.read_table(tmp_path / "a").num_rows == 13


def test_lid_column(tmp_path: Path) -> None:
    body = (
        b'<img src="a.jpg" alt="a photograph of a small dog playing on the beach">'
        b'<img src="b.jpg" alt="ein Foto von einem kleinen Hund, der am Strand spielt">'
    )
    warc = write_warc(
        tmp_path / "l.warc", [warc_record("response", http_response(body), "http://x.org/")]
    )
    stats = extract([warc], tmp_path / "out", lid=True, progress=False)
    assert stats["columns"][-1] == "lang"
    assert [r["lang"] for r in read_rows(tmp_path / "out")] == ["en", "de"]


def test_empty_input_still_writes_a_typed_shard(tmp_path: Path) -> None:
    warc = write_warc(
        tmp_path / "e.warc",
        [warc_record("response", http_response(b"<p>no images</p>"), "http://x/")],
    )
    stats = extract([warc], tmp_path / "out", progress=False)
    assert stats["rows"] == 0
    assert pq.read_table(tmp_path / "out" / "part-00000.parquet").schema.names == COLUMNS


def test_http_url_source(tmp_path: Path) -> None:
    warc = write_warc(tmp_path / "srv.warc.gz", sample_records(3))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/srv.warc.gz"
        remote = extract([url], tmp_path / "remote", progress=False)
    finally:
        server.shutdown()
        server.server_close()
    local = extract([warc], tmp_path / "local", progress=False)
    assert remote["total"] == local["total"]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "warc_file"} for r in rows]  # noqa: E731
    assert strip(read_rows(tmp_path / "remote")) == strip(read_rows(tmp_path / "local"))


def test_user_errors(tmp_path: Path) -> None:
    with pytest.raises(MetacurateError, match="nope.warc.gz: no such file"):
        extract([tmp_path / "nope.warc.gz"], tmp_path / "out")
    warc = write_warc(tmp_path / "g.warc", sample_records(1))
    with pytest.raises(MetacurateError, match="--shard-rows"):
        extract([warc], tmp_path / "out", shard_rows=0)
    first = extract([warc], tmp_path / "out", progress=False)
    assert extract([warc], tmp_path / "out", progress=False) == first  # a rerun: nothing new
    with pytest.raises(MetacurateError, match="--lid.*--force"):  # other columns: start over
        extract([warc], tmp_path / "out", progress=False, lid=True)
    extract([warc], tmp_path / "out", force=True, progress=False)
    extract([warc], tmp_path / "out", overwrite=True, progress=False)  # the old name


def test_cli_register_and_handler(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="metacurate")
    register(parser.add_subparsers(dest="command"))
    warc = write_warc(tmp_path / "c.warc.gz", sample_records(2))
    args = parser.parse_args(
        ["extract", str(warc), "--out", str(tmp_path / "o"), "--shard-rows", "4"]
    )
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "kept=7" in out and "wrote 7 rows in 2 shard(s)" in out
    args = parser.parse_args(["extract", str(warc), "--out", str(tmp_path / "o2"), "--json"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 7
    args = parser.parse_args(["extract", str(warc), "--out", str(tmp_path / "o3"), "--dry-run"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["shard_rows"] == 100_000
    assert not (tmp_path / "o3").exists()
    help_text = parser._subparsers._group_actions[0].choices["extract"].format_help()  # type: ignore[union-attr]
    assert "examples:" in help_text


def test_workers_give_the_same_output(tmp_path: Path) -> None:
    """Files parsed by 1 or 3 processes: same shards byte for byte and same stats (the
    shared logo of every page is a duplicate across files, first file wins)."""
    warcs = [write_warc(tmp_path / f"w{i}.warc.gz", sample_records(2 + i)) for i in range(4)]
    one = extract(warcs, tmp_path / "one", shard_rows=4, progress=False)
    three = extract(warcs, tmp_path / "three", shard_rows=4, progress=False, workers=3)
    assert one == three
    assert one["total"]["duplicates"] > 0 and one["rows"] == one["total"]["kept"]
    assert tree(tmp_path / "one") == tree(tmp_path / "three")
    rows = read_rows(tmp_path / "one")
    assert len({(r["url"], r["text"]) for r in rows}) == len(rows)
    with pytest.raises(MetacurateError, match="--workers"):
        extract(warcs, tmp_path / "zero", workers=0)


def test_cli_force_workers_and_old_overwrite_name(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="metacurate")
    register(parser.add_subparsers(dest="command"))
    warc = write_warc(tmp_path / "c.warc.gz", sample_records(2))
    out = str(tmp_path / "o")
    args = parser.parse_args(["extract", str(warc), "--out", out, "--workers", "2"])
    assert args.workers == 2 and args.func(args) == 0
    assert args.func(parser.parse_args(["extract", str(warc), "--out", out])) == 0  # a rerun
    for flag in ("--force", "--overwrite"):
        args = parser.parse_args(["extract", str(warc), "--out", out, flag])
        assert args.force and args.func(args) == 0
    helptext = parser._subparsers._group_actions[0].choices["extract"].format_help()
    assert "--force" in helptext and "--workers" in helptext and "--overwrite" not in helptext
