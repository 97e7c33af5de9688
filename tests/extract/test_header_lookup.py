"""extract's header lookup over `HeaderMap.astuples()` equals fastwarc's `HeaderMap.get`."""

from __future__ import annotations

import io

from fastwarc.warc import ArchiveIterator

from metacurate.extract.warc import _header, _http_codings, _warc_fields

RECORD = (
    b"WARC/1.0\r\nWARC-Type: response\r\ncontent-length: 5\r\nWARC-Target-URI: http://a/\r\n"
    b"warc-target-uri: http://b/\r\nContent-Length: 7\r\nCONTENT-TYPE:  x/y \r\n"
    b"Content-Type\xe2\x84\xaa: z\r\n\r\nabcde\r\n\r\n"
)
NAMES = ("Content-Length", "WARC-Target-URI", "Content-Type", "Transfer-Encoding")


def test_header_equals_headermap_get() -> None:
    records = list(ArchiveIterator(io.BytesIO(RECORD), parse_http=False))
    assert records
    headers = records[0].headers
    for name in NAMES:
        assert _header(headers.astuples(), name.lower()) == headers.get(name), name
    assert headers.get("WARC-Target-URI") == "http://a/"  # the first of duplicates
    assert _warc_fields(headers.astuples()) == _three(headers)
    assert _http_codings((("Content-Encoding", "gzip"), ("content-encoding", "br"))) == (
        None,
        "gzip",
    )


def _three(headers):  # type: ignore[no-untyped-def]
    return tuple(
        headers.get(name) for name in ("Content-Length", "Content-Type", "WARC-Target-URI")
    )


def test_header_on_the_shared_files(webarchive) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    for path in sorted(webarchive.iterdir()):
        for record in ArchiveIterator(open(path, "rb"), parse_http=True):  # noqa: SIM115
            maps = [record.headers] + ([record.http_headers] if record.is_http else [])
            for headers in maps:
                for name in (*NAMES, "Content-Encoding", "WARC-Identified-Payload-Type"):
                    assert _header(headers.astuples(), name.lower()) == headers.get(name)
                    checked += 1
            assert _warc_fields(record.headers.astuples()) == _three(record.headers)
            if record.is_http:
                http = record.http_headers
                assert _http_codings(http.astuples()) == (
                    http.get("Transfer-Encoding"),
                    http.get("Content-Encoding"),
                )
    assert checked > 500
