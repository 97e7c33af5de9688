"""Real Common Crawl / web-archive samples from $METACURATE_SHARED, checked against an
independent reading of the same pages (Python's html.parser, urllib.parse.urljoin)."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pyarrow.parquet as pq
from fastwarc.warc import ArchiveIterator, WarcRecordType

from conftest import wat_record, write_warc
from metacurate.extract import extract

FILES = ("pages_16.warc.gz", "whirlwind.warc.gz", "link-extraction-test.warc")
TEXT_ATTRS = ("alt", "title", "data-image-title")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.I)


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag == "base" and self.base is None and dict(attrs).get("href"):
            self.base = dict(attrs)["href"]

    handle_startendtag = handle_starttag


def _norm(text: str | None) -> str:
    return (text or "").replace("\n", " ").replace("\r", " ").replace("\t", " ").strip()


def independent_pages(path: Path) -> list[dict]:
    """Per HTML response: page URL, html.parser images and base, decoded without resiliparse."""
    pages = []
    for record in ArchiveIterator(str(path), record_types=WarcRecordType.response):
        if "html" not in (record.http_content_type or ""):
            continue
        body = record.reader.read()
        charset = record.http_charset
        if not charset and (m := _META_CHARSET.search(body[:4096])):
            charset = m.group(1).decode()
        charset = {"gb2312": "gbk", "": "utf-8"}.get((charset or "").lower(), charset or "utf-8")
        parser = _Images()
        parser.feed(body.decode(charset, errors="replace"))
        parser.close()
        pages.append(
            {
                "url": record.headers.get("WARC-Target-URI"),
                "images": parser.images,
                "base": parser.base,
            }
        )
    return pages


def expected_pairs(page: dict) -> set[tuple[str, str]]:
    base = urljoin(page["url"] or "", page["base"]) if page["base"] else page["url"]
    out = set()
    for img in page["images"]:
        src = (img.get("src") or "").strip()
        if not src:
            continue
        url = urljoin(base or "", src) if base or urlsplit(src).scheme else ""
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        out |= {(url, _norm(img.get(a))) for a in TEXT_ATTRS if _norm(img.get(a))}
    return out


def test_counts_and_pairs_match_an_independent_parser(webarchive: Path, tmp_path: Path) -> None:
    for name in FILES:
        path = webarchive / name
        stats = extract([path], tmp_path / name, progress=False)
        block = stats["files"][str(path)]
        rows = pq.read_table(tmp_path / name / "part-00000.parquet").to_pylist()
        pages = independent_pages(path)
        images = [img for page in pages for img in page["images"]]
        with_text = [img for img in images if any(_norm(img.get(a)) for a in TEXT_ATTRS)]
        assert block["html_pages"] == len(pages), name
        assert block["images_seen"] == len(images), name
        assert block["with_text"] == len(with_text), name
        assert block["errors"] == {}, name
        expected = set().union(*(expected_pairs(page) for page in pages))
        assert {(r["url"], r["text"]) for r in rows} == expected, name
        assert block["kept"] == len(rows) == len(expected)
        assert not any(r["url"].startswith("data:") for r in rows)
        assert all(urlsplit(r["url"]).scheme in ("http", "https") for r in rows)
    # the sample sizes the data README describes, so a silently empty parse cannot pass
    pages_16 = independent_pages(webarchive / "pages_16.warc.gz")
    assert len(pages_16) == 16
    assert 100 <= sum(len(p["images"]) for p in pages_16) <= 160


def test_relative_urls_resolved_like_urljoin(webarchive: Path, tmp_path: Path) -> None:
    path = webarchive / "pages_16.warc.gz"
    stats = extract([path], tmp_path / "out", progress=False)
    rows = pq.read_table(tmp_path / "out").to_pylist()
    relative = []
    for page in independent_pages(path):
        for img in page["images"]:
            src = (img.get("src") or "").strip()
            has_text = any(_norm(img.get(a)) for a in TEXT_ATTRS)
            if has_text and src and not urlsplit(src).scheme:
                relative.append((page["url"], page["base"], src))
    assert len(relative) >= 3
    assert stats["total"]["relative_urls_resolved"] == len(relative)
    got = {r["url"] for r in rows}  # (url, text) repeats on several pages are kept once
    for page_url, base, src in relative:
        assert urljoin(urljoin(page_url, base) if base else page_url, src) in got
    # the XHTML test page resolves against its <base href>
    link_test = webarchive / "link-extraction-test.warc"
    extract([link_test], tmp_path / "lt", progress=False)
    urls = {r["url"] for r in pq.read_table(tmp_path / "lt").to_pylist()}
    assert "http://www.example.com/image.png" in urls


def test_wat_built_from_real_pages_matches_warc(webarchive: Path, tmp_path: Path) -> None:
    """WAT records in Common Crawl's JSON layout, built here from the real pages, give the same
    (url, text) pairs as reading the WARC's HTML (alt and title; WAT has no data-image-title)."""
    path = webarchive / "pages_16.warc.gz"
    wat_records = []
    for page in independent_pages(path) + independent_pages(webarchive / "whirlwind.warc.gz"):
        links = []
        for img in page["images"]:
            link = {"path": "IMG@/src", "url": img.get("src") or ""}
            link.update({a: img[a] for a in ("alt", "title") if img.get(a) is not None})
            links.append(link)
        wat_records.append(wat_record(page["url"], links, base=page["base"]))
    wat = write_warc(tmp_path / "real.warc.wat.gz", wat_records)
    extract([wat], tmp_path / "wat", progress=False)
    extract([path, webarchive / "whirlwind.warc.gz"], tmp_path / "warc", progress=False)
    from_wat = {(r["url"], r["text"]) for r in pq.read_table(tmp_path / "wat").to_pylist()}
    from_warc = {
        (r["url"], r["text"])
        for r in pq.read_table(tmp_path / "warc").to_pylist()
        if r["text_source"] in ("alt", "title")
    }
    assert len(from_wat) >= 30
    assert from_wat == from_warc


def test_real_wat_without_image_links(webarchive: Path, tmp_path: Path) -> None:
    stats = extract([webarchive / "whirlwind.warc.wat.gz"], tmp_path / "o", progress=False)
    total = stats["total"]
    assert (total["records"], total["wat_records"], total["kept"], total["error_count"]) == (
        2,
        1,
        0,
        0,
    )


def test_truncated_real_gz_finishes_and_counts(webarchive: Path, tmp_path: Path) -> None:
    data = (webarchive / "pages_16.warc.gz").read_bytes()
    half = tmp_path / "half.warc.gz"
    half.write_bytes(data[: len(data) // 2])
    stats = extract([half], tmp_path / "out", progress=False)
    block = stats["files"][str(half)]
    assert block["error_count"] == 1
    assert set(block["errors"]) <= {"truncated_record", "truncated_gzip"}
    assert 0 < block["html_pages"] < 16
    assert block["kept"] > 0


def test_garbage_record_in_real_file(webarchive: Path, tmp_path: Path) -> None:
    data = (webarchive / "pages_16.warc.gz").read_bytes()
    members = [r.stream_pos for r in ArchiveIterator(str(webarchive / "pages_16.warc.gz"))]
    cut = members[len(members) // 2]
    bad = tmp_path / "garbage.warc.gz"
    bad.write_bytes(
        data[:cut]
        + gzip.compress(b"WARC/1.0\r\nthis header is garbage\x00\xff\r\n\r\n", mtime=0)
        + b"\x00\xde\xad\xbe\xef random bytes"
        + data[cut:]
    )
    stats = extract([bad], tmp_path / "out", progress=False)
    block = stats["files"][str(bad)]
    assert block["html_pages"] == 16
    assert block["error_count"] >= 1
    reasons = {"invalid_header", "invalid_record", "gzip_error"}
    assert set(block["errors"]) <= reasons
    assert {e["reason"] for e in block["error_samples"]} == set(block["errors"])
    clean = extract([webarchive / "pages_16.warc.gz"], tmp_path / "clean", progress=False)
    assert block["kept"] == clean["total"]["kept"]


def test_real_files_deterministic(webarchive: Path, tmp_path: Path) -> None:
    files = [webarchive / name for name in FILES]
    for out in ("a", "b"):
        extract(files, tmp_path / out, shard_rows=16, progress=False, lid=True)
    shards = sorted(p.name for p in (tmp_path / "a").glob("*.parquet"))
    assert len(shards) >= 2
    for shard in shards:
        assert (tmp_path / "a" / shard).read_bytes() == (tmp_path / "b" / shard).read_bytes()
