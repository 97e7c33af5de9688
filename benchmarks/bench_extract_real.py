"""`metacurate extract` against the read-only floor on real crawled pages, one core, same run.

Builds a .warc.gz of ``--pages`` response records (one gzip member each, as Common Crawl writes
them) from the HTML responses of the shared web-archive samples (`pages_16.warc.gz`,
`whirlwind.warc.gz`: 17 real pages, ~35 KB each), replicated under distinct target URLs, and the
matching WAT (Common Crawl's JSON: Envelope → Payload-Metadata → HTTP-Response-Metadata →
HTML-Metadata → Links, built from the same pages). Then, alternating, ``--rounds`` times:

  read     fastwarc iterating every record and reading its body (the floor)
  extract  the full `extract()` (records, scan, URL resolution, dedup, Parquet shards)

and prints the median times and the median of extract / read per round, for the WARC and the WAT.

    METACURATE_SHARED=/work/shared python benchmarks/bench_extract_real.py
    python benchmarks/bench_extract_real.py --pages 4000 --rounds 5 --dom   # + the DOM path
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from fastwarc.warc import ArchiveIterator, WarcRecordType

from metacurate.extract import extract
from metacurate.extract.html import image_pairs_from_html

SAMPLES = ("pages_16.warc.gz", "whirlwind.warc.gz")


def real_responses(folder: Path) -> list[tuple[str, bytes]]:
    """(target URI, HTTP message as stored) of every HTML response in the samples."""
    out = []
    for name in SAMPLES:
        records = ArchiveIterator(
            str(folder / name), record_types=WarcRecordType.response, parse_http=False
        )
        for rec in records:
            http = rec.reader.read()
            head = http.split(b"\r\n\r\n", 1)[0].lower()
            if b"content-type: text/html" in head and head.startswith(b"http/1.1 200"):
                out.append((rec.headers.get("WARC-Target-URI"), http))
    return out


def warc_member(warc_type: str, uri: str, block: bytes, content_type: str) -> bytes:
    head = (
        f"WARC/1.0\r\nWARC-Type: {warc_type}\r\nWARC-Target-URI: {uri}\r\n"
        f"WARC-Date: 2024-05-18T01:58:10Z\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(block)}\r\n\r\n"
    ).encode()
    return gzip.compress(head + block + b"\r\n\r\n", compresslevel=6, mtime=0)


def distinct(uri: str, i: int) -> str:
    scheme, rest = uri.split("://", 1)
    return f"{scheme}://r{i}.{rest}"


def wat_json(uri: str, http: bytes) -> bytes:
    """Common Crawl's WAT record for one page: its `<img>` links with alt/title as `Links`."""
    body = http.split(b"\r\n\r\n", 1)[1]
    page = image_pairs_from_html(body, None)
    # every <a href> and <link href> as Common Crawl lists them (a regex is enough here)
    links = [
        {"path": f"{tag.decode().upper()}@/href", "url": href.decode("utf-8", "replace")}
        for tag, href in re.findall(rb"""<(a|link)\s[^>]*?href=["']([^"'>]*)""", body, re.I)
    ]
    for pair in page.pairs:
        links.append({"path": "IMG@/src", "url": pair.url, pair.text_source: pair.text})
    doc = {
        "Container": {"Filename": "x.warc.gz", "Compressed": True, "Offset": "0"},
        "Envelope": {
            "Format": "WARC",
            "WARC-Header-Length": "512",
            "Block-Digest": "sha1:AAAA",
            "Actual-Content-Length": str(len(http)),
            "WARC-Header-Metadata": {"WARC-Type": "response", "WARC-Target-URI": uri},
            "Payload-Metadata": {
                "Actual-Content-Type": "application/http; msgtype=response",
                "HTTP-Response-Metadata": {
                    "Response-Message": {"Version": "HTTP/1.1", "Status": "200", "Reason": "OK"},
                    "Headers": {"Content-Type": "text/html", "Server": "nginx"},
                    "Headers-Length": "300",
                    "Entity-Length": str(len(body)),
                    "HTML-Metadata": {
                        "Head": {"Title": "t", "Metas": [{"name": "viewport", "content": "w"}]},
                        "Links": links,
                    },
                },
            },
        },
    }
    return json.dumps(doc).encode()


def build(folder: Path, out: Path, pages: int) -> tuple[Path, Path]:
    responses = real_responses(folder)
    warc, wat = out / "real.warc.gz", out / "real.warc.wat.gz"
    with open(warc, "wb") as fw, open(wat, "wb") as ft:
        for i in range(pages):
            uri, http = responses[i % len(responses)]
            uri = distinct(uri, i // len(responses))
            fw.write(warc_member("response", uri, http, "application/http; msgtype=response"))
            ft.write(warc_member("metadata", uri, wat_json(uri, http), "application/json"))
    return warc, wat


def read_only(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds for fastwarc iterating every record and reading its body."""
    wall, cpu = time.perf_counter(), time.process_time()
    for rec in ArchiveIterator(str(path)):
        rec.reader.read()
    return time.perf_counter() - wall, time.process_time() - cpu


def timed_extract(path: Path, out: Path) -> tuple[tuple[float, float], dict]:
    wall, cpu = time.perf_counter(), time.process_time()
    stats = extract([path], out, progress=False, force=True)
    return (time.perf_counter() - wall, time.process_time() - cpu), stats


def compare(label: str, path: Path, out: Path, rounds: int) -> None:
    reads, runs = [], []
    for _ in range(rounds):
        reads.append(read_only(path))
        run, stats = timed_extract(path, out)
        runs.append(run)
    total = stats["total"]
    print(
        f"{label}: records {total['records']:,}, pages {total['html_pages']:,}, "
        f"pairs {total['pairs']:,}, kept {total['kept']:,}"
    )
    for k, clock in enumerate(("wall", "CPU")):
        read = statistics.median(r[k] for r in reads)
        ext = statistics.median(e[k] for e in runs)
        ratios = [e[k] / r[k] for r, e in zip(reads, runs, strict=True)]
        print(
            f"  {clock:4}: read-only median {read:.3f}s  extract median {ext:.3f}s  "
            f"({total['html_pages'] / ext:,.0f} pages/s)  median of extract/read per round: "
            f"{statistics.median(ratios):.2f}x  (rounds: {', '.join(f'{x:.2f}' for x in ratios)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dom", action="store_true", help="also time the DOM reference path")
    args = parser.parse_args()
    shared = Path(os.environ.get("METACURATE_SHARED", Path(__file__).parents[2] / "shared"))
    folder = shared / "data" / "webarchive"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    with tempfile.TemporaryDirectory() as tmp:
        warc, wat = build(folder, Path(tmp), args.pages)
        mb = warc.stat().st_size / 1e6
        print(f"{args.pages} real pages, {mb:.1f} MB .warc.gz; 1 core; {args.rounds} rounds")
        compare("WARC", warc, Path(tmp) / "out", args.rounds)
        compare("WAT", wat, Path(tmp) / "out", args.rounds)
        if args.dom:
            import metacurate.extract.task as task

            def dom(body, url, charset, kernel=None):  # type: ignore[no-untyped-def]
                return image_pairs_from_html(body, url, charset)

            task.image_pairs_fast = dom  # the DOM reference path
            compare("WARC, DOM path", warc, Path(tmp) / "out", max(1, args.rounds // 2))


if __name__ == "__main__":
    main()
