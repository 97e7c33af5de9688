"""Header lookups over fastwarc's ``HeaderMap.astuples()``, equal to ``HeaderMap.get`` (the
first header of a name, ASCII case-insensitive) and several times faster; several names in one
pass, compiled (`kernel.calls.header_values`) when built."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from metacurate.extract.scanner import native_scan_available
from metacurate.kernel import calls  # the only caller of the compiled lookup

__all__ = ["HeaderLookup", "header", "http_codings", "lookups", "warc_fields"]

Headers = tuple[tuple[str, str], ...]
HeaderLookup = Callable[[Headers], tuple[str | None, ...]]
_WARC_NAMES = ("content-length", "content-type", "warc-target-uri")
_HTTP_NAMES = ("transfer-encoding", "content-encoding")


def header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    """``HeaderMap.get(name)`` (the first header of that name, ASCII case-insensitive) from
    its ``astuples()``, which fastwarc gives several times faster than a `get`. ``name``:
    lower case, without a `k` (the one ASCII letter a non-ASCII character lowers to)."""
    for key, value in headers:
        if len(key) == len(name) and key.lower() == name:
            return value
    return None


def warc_fields(warc: tuple[tuple[str, str], ...]) -> tuple[str | None, str | None, str | None]:
    """``header`` of content-length, content-type and warc-target-uri at once (one pass)."""
    length = ctype = uri = None
    for key, value in warc:
        n = len(key)
        if n == 14:
            if length is None and key.lower() == "content-length":
                length = value
        elif n == 12:
            if ctype is None and key.lower() == "content-type":
                ctype = value
        elif n == 15 and uri is None and key.lower() == "warc-target-uri":
            uri = value
    return length, ctype, uri


def http_codings(http: tuple[tuple[str, str], ...]) -> tuple[str | None, str | None]:
    """``header`` of transfer-encoding and content-encoding at once (one pass)."""
    transfer = content = None
    for key, value in http:
        n = len(key)
        if n == 17:
            if transfer is None and key.lower() == "transfer-encoding":
                transfer = value
        elif n == 16 and content is None and key.lower() == "content-encoding":
            content = value
    return transfer, content


def lookups() -> tuple[HeaderLookup, HeaderLookup]:
    """:func:`warc_fields` and :func:`http_codings`, compiled (`header_values`) when built
    and not switched off (METACURATE_NO_NATIVE), else in Python: the same values."""
    if calls.header_values is None or not native_scan_available():
        return warc_fields, http_codings
    return partial(calls.header_values, _WARC_NAMES), partial(calls.header_values, _HTTP_NAMES)
