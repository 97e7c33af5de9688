"""Stream WARC/WAT records from local files or http(s) URLs; corrupt data is counted, never fatal.

fastwarc parses the records. It stops at the first corrupt gzip member or WARC header, so on an
error we count it, scan forward for the next offset where a record parses again (next gzip member
or `WARC/1.` line), and restart the iterator there. Truncation that fastwarc does not report (short
body, cut gzip footer) is detected here and counted too.
"""

from __future__ import annotations

import io
import os
import urllib.error
import urllib.request
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

from fastwarc.warc import ArchiveIterator, WarcRecordType

from metacurate.errors import MetacurateError
from metacurate.extract.headers import HeaderLookup, header, http_codings, lookups, warc_fields
from metacurate.storage import RemotePath, is_remote

_SCAN_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_MAGIC = b"WARC/1."
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_MAX_SAMPLES = 20


@dataclass
class ErrorLog:
    """Errors of one input file: counts by reason plus the first few with offset and message."""

    counts: Counter[str] = field(default_factory=Counter)
    samples: list[dict[str, object]] = field(default_factory=list)

    def add(self, reason: str, offset: int | None, message: str) -> None:
        self.counts[reason] += 1
        if len(self.samples) < _MAX_SAMPLES:
            self.samples.append({"reason": reason, "offset": offset, "message": message})


class Record(NamedTuple):
    """What extraction needs from one WARC record. `kind`: html, wat or other (not read)."""

    offset: int
    kind: str
    page_url: str | None = None
    payload: bytes = b""
    http_charset: str | None = None


class PayloadError(ValueError):
    """An HTTP body whose transfer or content encoding cannot be undone."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def is_url(source: str) -> bool:
    """True for http(s) URLs, which are streamed instead of opened."""
    return source.startswith(("http://", "https://"))


class _HttpStream(io.RawIOBase):
    """Forward-only reader over an HTTP body that reports absolute offsets (fastwarc needs tell)."""

    def __init__(self, url: str, offset: int = 0) -> None:
        super().__init__()
        request = urllib.request.Request(url, headers={"User-Agent": "metacurate-extract"})
        if offset:
            request.add_header("Range", f"bytes={offset}-")
        try:
            self._response = urllib.request.urlopen(request, timeout=60)  # noqa: S310
        except (urllib.error.URLError, OSError) as exc:
            raise MetacurateError(
                f"{url}: cannot open ({exc}); check the URL or download the file and pass its path"
            ) from None
        self._pos = 0
        if offset and self._response.status != 206:  # no Range support: skip ahead by reading
            self._skip(offset)
        self._pos = offset

    def _skip(self, n: int) -> None:
        while n > 0:
            got = self._response.read(min(n, _SCAN_CHUNK))
            if not got:
                break
            n -= len(got)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._response.read() if size is None or size < 0 else self._response.read(size)
        self._pos += len(data)
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        target = offset if whence == 0 else self._pos + offset if whence == 1 else -1
        if target < self._pos:
            raise OSError("HTTP stream cannot seek backwards")
        self._skip(target - self._pos)
        self._pos = target
        return self._pos

    def close(self) -> None:
        self._response.close()
        super().close()


def check_source(source: str) -> None:
    """Raise MetacurateError if a local input is missing or not a file (URLs and object-store
    paths fail on open)."""
    if is_url(source) or is_remote(source):
        return
    if not os.path.exists(source):
        raise MetacurateError(f"{source}: no such file; pass WARC/WAT paths or http(s) URLs")
    if not os.path.isfile(source):
        raise MetacurateError(f"{source}: not a file; pass WARC/WAT files, not a directory")


def open_source(source: str, offset: int = 0, endpoint: str | None = None) -> BinaryIO:
    """A binary stream over a local path, http(s) URL or object-store path (s3://...,
    through metacurate.storage; ``endpoint``: an S3-compatible store), at `offset`."""
    if is_url(source):
        return _HttpStream(source, offset)  # type: ignore[return-value]
    if is_remote(source):
        try:
            remote = RemotePath(source, endpoint).open_input_file()
        except (OSError, ValueError) as exc:
            raise MetacurateError(f"{source}: cannot open ({exc}); check the path") from None
        remote.seek(offset)
        return remote  # type: ignore[return-value]
    stream = open(source, "rb")  # noqa: SIM115 - closed by the caller
    stream.seek(offset)
    return stream


def decode_payload(
    body: bytes, transfer_encoding: str | None, content_encoding: str | None
) -> bytes:
    """Undo chunked transfer encoding and gzip/deflate/br content encoding of an HTTP body.

    Lenient where Common Crawl stored the decoded body but kept the header: a body that does not
    start like the declared encoding is returned unchanged.
    """
    if transfer_encoding and "chunked" in transfer_encoding.lower():
        body = _dechunk(body)
    coding = (content_encoding or "").strip().lower()
    if coding in ("gzip", "x-gzip") and body[:2] == b"\x1f\x8b":
        return _inflate(body, 47, "gzip")
    if coding == "deflate" and body[:1] not in (b"<", b" ", b"\n", b"\r", b"\t", b"\xef"):
        try:
            return _inflate(body, 15, "deflate")
        except PayloadError:
            return _inflate(body, -15, "deflate")
    if coding == "br" and body[:1] not in (b"<", b" ", b"\n", b"\r", b"\t", b"\xef"):
        try:
            import brotli  # fastwarc depends on it
        except ImportError:
            raise PayloadError("unsupported_content_encoding", "br: brotli not installed") from None
        try:
            return brotli.decompress(body)
        except brotli.error as exc:
            raise PayloadError("bad_content_encoding", f"br body: {exc}") from None
    return body


def _inflate(body: bytes, wbits: int, name: str) -> bytes:
    decomp = zlib.decompressobj(wbits)
    try:
        out = decomp.decompress(body)
    except zlib.error as exc:
        raise PayloadError("bad_content_encoding", f"{name} body: {exc}") from None
    if not decomp.eof:
        raise PayloadError("bad_content_encoding", f"{name} body is truncated")
    return out


def _dechunk(body: bytes) -> bytes:
    """Join HTTP/1.1 chunks; a body that does not start with a chunk-size line is kept as is."""
    first = body.split(b"\r\n", 1)[0].split(b";", 1)[0].strip()
    try:
        int(first, 16)
    except ValueError:
        return body
    out, pos = [], 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            raise PayloadError("bad_chunked_encoding", "chunk size line without CRLF")
        try:
            size = int(body[pos:eol].split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise PayloadError("bad_chunked_encoding", "invalid chunk size") from None
        if size == 0:
            return b"".join(out)
        start = eol + 2
        if start + size > len(body):
            raise PayloadError("bad_chunked_encoding", "chunk runs past the end of the body")
        out.append(body[start : start + size])
        pos = start + size + 2


def _candidates(source: str, start: int, gz: bool, endpoint: str | None) -> Iterator[int]:
    """Offsets ≥ start where a record may begin: gzip member magic, or a `WARC/1.` line."""
    magic = _GZIP_MAGIC if gz else _WARC_MAGIC
    with open_source(source, start, endpoint) as stream:
        pos, tail, last = start, b"", start - 1
        while True:
            chunk = stream.read(_SCAN_CHUNK)
            if not chunk:
                return
            data = tail + chunk
            base = pos - len(tail)
            i = data.find(magic)
            while i >= 0:
                at_line_start = i == 0 and base == 0 or (i > 0 and data[i - 1 : i] == b"\n")
                if (gz or at_line_start) and base + i > last:
                    last = base + i
                    yield last
                i = data.find(magic, i + 1)
            tail = data[-(len(magic) + 1) :]
            pos += len(chunk)


def _parses_at(source: str, offset: int, endpoint: str | None) -> bool:
    """Whether one complete record can be read starting at `offset`."""
    try:
        with open_source(source, offset, endpoint) as stream:
            record = next(iter(ArchiveIterator(stream, parse_http=False)), None)
            if record is None or record.headers.get("Content-Length") is None:
                return False
            expected = record.content_length
            return len(record.reader.read()) == expected
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException:  # fastwarc may raise OSError or a Rust panic on garbage
        return False


def _gzip_tail_error(source: str, start: int, endpoint: str | None) -> str | None:
    """Why the gzip members from `start` to end of file are incomplete, or None if they are fine."""
    decomp = None
    with open_source(source, start, endpoint) as stream:
        while chunk := stream.read(_SCAN_CHUNK):
            data = chunk
            while data:
                if decomp is None:
                    decomp = zlib.decompressobj(31)
                try:
                    decomp.decompress(data)
                except zlib.error as exc:
                    return f"gzip data error after the last record: {exc}"
                if decomp.eof:
                    data, decomp = decomp.unused_data, None
                else:
                    data = b""
    return None if decomp is None else "gzip stream ends inside a member (file truncated)"


def _is_gzip(source: str, endpoint: str | None) -> bool:
    with open_source(source, 0, endpoint) as stream:
        return stream.read(2) == b"\x1f\x8b"


def _http_kind(record, warc: tuple[tuple[str, str], ...]) -> str:  # type: ignore[no-untyped-def]
    if not record.is_http:
        return "other"
    status = record.http_headers.status_code
    if status is not None and not 200 <= status < 300:
        return "non_2xx"
    ctype = (record.http_content_type or "").lower()
    if not ctype:
        ctype = (header(warc, "warc-identified-payload-type") or "").lower()
    return "html" if ctype.startswith(_HTML_TYPES) else "other"


_RESPONSE = WarcRecordType.response
_RESPONSE_OR_METADATA = WarcRecordType.response | WarcRecordType.metadata
_new_record = tuple.__new__  # Record(...) without its Python-level __new__


def _read_record(  # type: ignore[no-untyped-def]
    record,
    errors: ErrorLog,
    lookups: tuple[HeaderLookup, HeaderLookup] = (warc_fields, http_codings),
) -> tuple[Record | None, bool]:
    """One fastwarc record as a :class:`Record` (None: skipped, its error added to `errors`),
    and whether it was cut short (no Content-Length, or a body shorter than it says).
    ``lookups``: the header lookups (see :func:`headers.lookups`)."""
    offset = record.stream_pos
    warc = record.headers.astuples()
    length, ctype, page_url = lookups[0](warc)
    if length is None:
        errors.add("invalid_header", offset, "WARC header without Content-Length")
        return None, True
    rtype = record.record_type
    kind = "other"
    if rtype & _RESPONSE_OR_METADATA:
        if rtype == _RESPONSE:
            kind = _http_kind(record, warc)
        elif ctype is not None and ctype.startswith("application/json"):
            kind = "wat"
    if kind not in ("html", "wat"):
        return Record(offset, "non_2xx" if kind == "non_2xx" else "other"), False
    expected = record.content_length
    payload = record.reader.read()
    if len(payload) < expected:
        errors.add(
            "truncated_record",
            offset,
            f"record body has {len(payload)} of {expected} bytes",
        )
        return None, True
    if kind == "wat":
        return _new_record(Record, (offset, "wat", page_url, payload, None)), False
    transfer, content = lookups[1](record.http_headers.astuples())
    try:
        payload = decode_payload(payload, transfer, content)
    except PayloadError as exc:
        errors.add(exc.reason, offset, str(exc))
        return None, False
    return _new_record(Record, (offset, "html", page_url, payload, record.http_charset)), False


def iter_records(source: str, errors: ErrorLog, endpoint: str | None = None) -> Iterator[Record]:
    """Every record of one WARC/WAT file, in order; HTML responses and WAT JSON records come
    with their decoded payload. Corrupt or truncated data is added to `errors` and skipped."""
    gz = _is_gzip(source, endpoint)
    record_lookups = lookups()
    resume, last_start, last_truncated = 0, -1, -2
    while True:
        stream = open_source(source, resume, endpoint)
        failure: tuple[str, str] | None = None
        try:
            records = iter(ArchiveIterator(stream, parse_http=True))
            while True:
                try:
                    record = next(records)
                except StopIteration:
                    break
                last_start = record.stream_pos
                out, truncated = _read_record(record, errors, record_lookups)
                if truncated:
                    last_truncated = last_start
                if out is not None:
                    yield out
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:  # fastwarc: OSError, or a Rust panic on hostile input
            text = str(exc) or type(exc).__name__
            reason = "gzip_error" if "gzip" in text.lower() else "invalid_record"
            failure = (reason, text)
        finally:
            stream.close()
        if failure is None:
            if gz:
                tail = _gzip_tail_error(source, max(last_start, resume, 0), endpoint)
                if tail is not None and last_truncated != last_start:
                    errors.add("truncated_gzip", max(last_start, 0), tail)
            return
        start = max(last_start, resume) + 1
        resume = next(
            (
                c
                for c in _candidates(source, start, gz, endpoint)
                if _parses_at(source, c, endpoint)
            ),
            -1,
        )
        where = f"resumed at byte {resume}" if resume >= 0 else "no readable record after it"
        errors.add(failure[0], start, f"{failure[1]} (after byte {start}; {where})")
        if resume < 0:
            return
        last_start = resume - 1
