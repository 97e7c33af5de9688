"""Throughput of `metacurate extract` on one core: pages/s and pairs/s on a generated WARC.

Generates a Common Crawl-like .warc.gz (one gzip member per record, request + response per page)
in a temporary directory, then times, in the same run:
  reference  fastwarc alone reading every record body (the I/O + decompression floor)
  extract    the full `extract()` (HTML parse, URL resolution, dedup, Parquet shards)

    python benchmarks/bench_extract.py            # 10,000 pages
    python benchmarks/bench_extract.py --pages 20000 --lid
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import tempfile
import time
from pathlib import Path

from fastwarc.warc import ArchiveIterator

from metacurate.extract import extract

_WORD_TEXT = (
    "red blue small large dog cat house tree river mountain city street car bicycle child "
    "woman man portrait sunset beach forest flower garden kitchen table chair book phone logo "
    "icon banner product photo image view night winter summer old new wooden metal"
)
WORDS = tuple(_WORD_TEXT.split())


def page_html(rng: random.Random, i: int) -> bytes:
    """~8 KB page, 12 <img>: 7 with alt, 2 with title, mixed relative/absolute, one data: URI."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Page {i}</title><link rel='stylesheet' href='/s.css'></head><body>",
        "<nav><ul>" + "".join(f"<li><a href='/c/{k}'>Cat {k}</a></li>" for k in range(15)),
        "</ul></nav>",
    ]
    for k in range(12):
        caption = " ".join(rng.choices(WORDS, k=rng.randint(2, 9)))
        src = [
            f"/img/{i}/{k}.jpg",
            f"https://cdn.example.net/{rng.randrange(50_000)}.png",
            f"../thumbs/{i}-{k}.webp",
            "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
        ][k % 4]
        attrs = f'src="{src}" width="{rng.randrange(50, 900)}"'
        if k < 7:
            attrs += f' alt="{caption}"'
        elif k < 9:
            attrs += f' title="{caption.title()}"'
        para = " ".join(rng.choices(WORDS, k=60))
        parts.append(f"<div class='card'><p>{para}</p><img {attrs}></div>")
    parts.append("<footer>" + " ".join(rng.choices(WORDS, k=200)) + "</footer></body></html>")
    return "".join(parts).encode()


def record(warc_type: str, block: bytes, url: str, content_type: str) -> bytes:
    head = (
        f"WARC/1.0\r\nWARC-Type: {warc_type}\r\nWARC-Target-URI: {url}\r\n"
        f"WARC-Date: 2024-05-18T01:58:10Z\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(block)}\r\n\r\n"
    )
    return head.encode() + block + b"\r\n\r\n"


def generate(path: Path, pages: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "wb") as out:
        for i in range(pages):
            url = f"http://site{i % 997}.example.org/section/{i}/index.html"
            body = page_html(rng, i)
            http = (
                f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            request = b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n"
            for rec in (
                record("request", request, url, "application/http; msgtype=request"),
                record("response", http, url, "application/http; msgtype=response"),
            ):
                out.write(gzip.compress(rec, compresslevel=6, mtime=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--lid", action="store_true", help="also time --lid")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    with tempfile.TemporaryDirectory() as tmp:
        warc = Path(tmp) / "bench.warc.gz"
        generate(warc, args.pages)
        size_mb = warc.stat().st_size / 1e6

        started = time.perf_counter()
        bodies = 0
        for rec in ArchiveIterator(str(warc)):
            bodies += len(rec.reader.read())
        ref_s = time.perf_counter() - started

        started = time.perf_counter()
        stats = extract([warc], Path(tmp) / "out", lid=args.lid, progress=False)
        ext_s = time.perf_counter() - started

    total = stats["total"]
    pages, pairs = total["html_pages"], total["pairs"]
    print(
        f"input: {args.pages} pages, {size_mb:.1f} MB .warc.gz, "
        f"{bodies / 1e6:.0f} MB of record bodies; 1 core; lid={args.lid}"
    )
    print(f"reference fastwarc read-only: {ref_s:.2f}s  {args.pages / ref_s:,.0f} pages/s")
    print(
        f"extract: {ext_s:.2f}s  {pages / ext_s:,.0f} pages/s  {pairs / ext_s:,.0f} pairs/s  "
        f"(pairs {pairs:,}, kept {total['kept']:,}, images_seen {total['images_seen']:,})"
    )
    print(f"extract / reference time: {ext_s / ref_s:.1f}x")


if __name__ == "__main__":
    main()
