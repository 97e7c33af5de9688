"""Fixtures for extract tests: the shared real-data folder and a small WARC/WAT writer."""

from __future__ import annotations

import gzip
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
try:  # running from a checkout without `pip install -e .`
    import metacurate.extract  # noqa: F401
except ImportError:
    sys.path.insert(0, str(REPO_ROOT / "src"))


def shared_dir() -> Path:
    """`$METACURATE_SHARED`, default `../shared` next to the repository."""
    return Path(os.environ.get("METACURATE_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture
def webarchive() -> Path:
    """The read-only real WARC/WAT samples; skips the test when they are not there."""
    folder = shared_dir() / "data" / "webarchive"
    if not (folder / "pages_16.warc.gz").is_file():
        pytest.skip(f"real web-archive samples not found under {folder} (set METACURATE_SHARED)")
    return folder


def warc_record(
    warc_type: str,
    block: bytes,
    target_uri: str | None = None,
    content_type: str = "application/http; msgtype=response",
    record_id: int = 0,
) -> bytes:
    """One WARC/1.0 record: header block, `block`, and the two CRLFs that end it."""
    headers = [
        "WARC/1.0",
        f"WARC-Type: {warc_type}",
        f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{record_id:012d}>",
        "WARC-Date: 2024-05-18T01:58:10Z",
    ]
    if target_uri:
        headers.append(f"WARC-Target-URI: {target_uri}")
    headers += [f"Content-Type: {content_type}", f"Content-Length: {len(block)}"]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + block + b"\r\n\r\n"


def http_response(
    body: bytes, content_type: str = "text/html", status: int = 200, extra: Sequence[str] = ()
) -> bytes:
    """An HTTP/1.1 response message (status line, headers, body) as WARC stores it."""
    lines = [f"HTTP/1.1 {status} OK", f"Content-Type: {content_type}", *extra]
    if not any(h.lower().startswith("transfer-encoding") for h in extra):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def write_warc(path: Path, records: Sequence[bytes], gz: bool | None = None) -> Path:
    """Write records, one gzip member each when the name ends in .gz (Common Crawl layout)."""
    gz = path.name.endswith(".gz") if gz is None else gz
    with open(path, "wb") as out:
        for record in records:
            out.write(gzip.compress(record, mtime=0) if gz else record)
    return path


def wat_record(page_url: str, links: list[dict[str, str]], base: str | None = None) -> bytes:
    """A WAT metadata record in Common Crawl's JSON layout describing one HTML response."""
    html_meta: dict[str, object] = {"Head": {"Title": "t"}, "Links": links}
    if base is not None:
        html_meta["Head"] = {"Title": "t", "Base": base}
    doc = {
        "Container": {"Filename": "x.warc.gz", "Compressed": True, "Offset": "0"},
        "Envelope": {
            "Format": "WARC",
            "WARC-Header-Metadata": {"WARC-Type": "response", "WARC-Target-URI": page_url},
            "Payload-Metadata": {
                "Actual-Content-Type": "application/http; msgtype=response",
                "HTTP-Response-Metadata": {
                    "Response-Message": {"Version": "HTTP/1.1", "Status": "200", "Reason": "OK"},
                    "Headers": {"Content-Type": "text/html"},
                    "HTML-Metadata": html_meta,
                },
            },
        },
    }
    block = json.dumps(doc).encode()
    return warc_record("metadata", block, page_url, content_type="application/json")


@pytest.fixture
def make_warc() -> Callable[..., Path]:
    return write_warc


WarcRecordFn = Callable[..., bytes]


@pytest.fixture
def rec() -> WarcRecordFn:
    return warc_record


@pytest.fixture
def http() -> Callable[..., bytes]:
    return http_response


@pytest.fixture
def wat() -> Callable[..., bytes]:
    return wat_record
