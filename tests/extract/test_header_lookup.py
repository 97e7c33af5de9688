"""extract's header lookup over `HeaderMap.astuples()` equals fastwarc's `HeaderMap.get`."""

from __future__ import annotations

import io

import pytest
from fastwarc.warc import ArchiveIterator
from hypothesis import given, settings
from hypothesis import strategies as st

from metacurate.extract.headers import header as _header
from metacurate.extract.headers import http_codings as _http_codings
from metacurate.extract.headers import warc_fields as _warc_fields

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


def _lookup_pairs():  # type: ignore[no-untyped-def]
    """(the compiled lookups, the Python ones), or skip when the kernel is not built."""
    from metacurate.extract.headers import lookups as _lookups
    from metacurate.kernel import calls

    if calls.header_values is None:
        pytest.skip("compiled kernel not built")
    return _lookups(), (_warc_fields, _http_codings)


_KEYS = st.sampled_from(
    [
        "Content-Length", "content-length", "CONTENT-LENGTH", "Content-Type", "content-type",
        "WARC-Target-URI", "warc-target-uri", "Transfer-Encoding", "Content-Encoding",
        "Content-Type\u212a", "Content-\u0130ength", "\u0130ontent-Type", "Content-Lengt\u0130",
        "X", "",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(headers=st.lists(st.tuples(_KEYS | st.text(max_size=16), st.text(max_size=4)), max_size=8))
def test_compiled_lookup_equals_python(headers) -> None:  # type: ignore[no-untyped-def]
    """Duplicates (the first wins), any case, non-ASCII keys (`İ` lowers to two characters,
    the Kelvin sign to `k`): the compiled one-pass lookup equals the Python one."""
    (warc_c, http_c), (warc_py, http_py) = _lookup_pairs()
    headers = tuple(headers)
    assert warc_c(headers) == warc_py(headers)
    assert http_c(headers) == http_py(headers)


def test_compiled_lookup_on_the_shared_files(webarchive) -> None:  # type: ignore[no-untyped-def]
    (warc_c, http_c), _ = _lookup_pairs()
    for path in sorted(webarchive.iterdir()):
        for record in ArchiveIterator(open(path, "rb"), parse_http=True):  # noqa: SIM115
            assert warc_c(record.headers.astuples()) == _three(record.headers)
            if record.is_http:
                http = record.http_headers
                assert http_c(http.astuples()) == (
                    http.get("Transfer-Encoding"),
                    http.get("Content-Encoding"),
                )
