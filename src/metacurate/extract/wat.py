"""WAT metadata record (Common Crawl JSON) → image/text pairs from `HTML-Metadata.Links`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from metacurate.extract.pairs import PageImages, add_images, resolve_base

try:  # several times faster than json on WAT records; optional (the `extract` extra)
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - without orjson, json reads the same documents
    _loads = json.loads


#: The texts of a WAT `IMG@/src` link, in the order its pairs are emitted.
_WAT_TEXTS = ("alt", "title")


class WatFormatError(ValueError):
    """The record's JSON is unreadable or not shaped like a Common Crawl WAT envelope."""


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def wat_status(envelope: dict[str, Any]) -> int | None:
    """HTTP status of the described response, if the WAT record carries one."""
    response = _get(envelope, "Payload-Metadata", "HTTP-Response-Metadata")
    status = _get(response, "Response-Message", "Status")
    try:
        return int(status) if status is not None else None
    except (TypeError, ValueError):
        return None


def parse_wat(payload: bytes) -> dict[str, Any]:
    """The `Envelope` object of one WAT JSON record; raises `WatFormatError` when malformed."""
    try:
        doc = _loads(payload)
    except ValueError:  # what orjson refuses (NaN, huge integers, UTF-16 ...) json may read
        try:
            doc = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WatFormatError(f"invalid WAT JSON: {exc}") from None
    envelope = doc.get("Envelope") if isinstance(doc, dict) else None
    if not isinstance(envelope, dict):
        raise WatFormatError("WAT JSON has no 'Envelope' object")
    return envelope


def image_pairs_from_wat(payload: bytes | dict[str, Any]) -> tuple[str | None, PageImages | None]:
    """(page URL, pairs) for a WAT record; pairs is None when it describes no HTML response
    (request, warcinfo and non-HTML records carry no `HTML-Metadata`)."""
    envelope = payload if isinstance(payload, dict) else parse_wat(payload)
    page_url = _get(envelope, "WARC-Header-Metadata", "WARC-Target-URI")
    html_meta = _get(envelope, "Payload-Metadata", "HTTP-Response-Metadata", "HTML-Metadata")
    if not isinstance(html_meta, dict):
        return _page_url(page_url), None
    links = html_meta.get("Links")
    images = [
        (link.get("url"), link.get("alt"), link.get("title"))
        for link in (links if isinstance(links, list) else ())
        if isinstance(link, dict) and link.get("path") == "IMG@/src"
    ]
    return _page_url(page_url), _page(_page_url(page_url), _get(html_meta, "Head", "Base"), images)


def _page_url(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _page(
    page_url: str | None, base_href: Any, images: list[tuple[Any, Any, Any]], typed: bool = False
) -> PageImages:
    """The pairs of a page's `IMG@/src` links: (url, alt, title) as the JSON holds them
    (``typed``: each already a string or None)."""
    page = PageImages()
    if not images:
        return page
    base = resolve_base(page_url, base_href if isinstance(base_href, str) else None)
    if not typed:
        images = [tuple(v if isinstance(v, str) else None for v in image) for image in images]
    add_images(page, images, _WAT_TEXTS, base)
    return page


#: A `Links` JSON text can hold the string "IMG@/src" only where `IMG@` is in the record or one
#: of those eight characters is written as a `\\uXXXX` escape (hex digits in either case):
#: each character is either as it is or such an escape (`/` also `\\/`).
_ESCAPED_IMG = re.compile(rb"\\u00(?:4[9dD7]|40|2[fF]|7[32]|63)").search


class WatPage(NamedTuple):
    """What one WAT record gives: its HTTP status (as :func:`wat_status`), and the page URL
    and pairs (as :func:`image_pairs_from_wat`)."""

    status: int | None
    page_url: str | None
    page: PageImages | None


#: _status of the usual status strings, looked up (`int` with its exception is slower)
_STATUS = {str(code): code for code in range(100, 600)}
_new_wat_page = tuple.__new__  # WatPage(...) without its Python-level __new__


def _status(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def read_wat(
    payload: bytes,
    utf8_valid: Callable[[bytes], bool],
    scan: Callable[[bytes], Any] | None = None,
) -> WatPage:
    """:func:`parse_wat`, :func:`wat_status` and :func:`image_pairs_from_wat` of one record
    at once; raises `WatFormatError` as :func:`parse_wat` does. ``utf8_valid``: whether bytes
    decode as UTF-8 (the compiled check, see `scanner.ScanKernel`); ``scan``: the compiled
    WAT record scan (`scanner.ScanKernel.wat_scan`), if built.

    The compiled scan checks the whole record and returns just the fields used, or None for
    a record it does not read exactly (then the general way). Without it, with msgspec, the
    record is decoded into just the fields used (the rest of the JSON is checked, not built);
    a record that decoder refuses (bad JSON, another shape, a type the structs do not take)
    or that is not valid UTF-8 (which msgspec does not check in values it skips) goes the
    general way, so the results are the same either way."""
    if scan is not None:
        found = scan(payload)
        if found is None:
            return _read_wat_general(payload)
        status_text, uri, html, base_href, images, bare, ready = found
        status = _STATUS.get(status_text) if status_text is not None else None
        if status is None and status_text is not None:
            status = _status(status_text)
        if status is not None and not 200 <= status < 300:
            return _new_wat_page(WatPage, (status, None, None))
        page_url = uri or None  # _page_url: a string or None here
        if not html:
            return _new_wat_page(WatPage, (status, page_url, None))
        if ready:  # `images` are the pairs, as add_images makes them from `ready` images
            page = PageImages(images)
            page.counts["images_seen"] += ready
            page.counts["with_text"] += ready
        else:
            page = _page(page_url, base_href, images, typed=True)
        if bare:  # the IMG@/src links without a text
            page.counts["images_seen"] += bare
        return _new_wat_page(WatPage, (status, page_url, page))
    if _DECODER is not None and utf8_valid(payload):
        try:
            doc = _DECODER.decode(payload)
        except _DECODE_ERRORS:
            doc = None
        envelope = doc.Envelope if doc is not None else None
        if envelope is not None:
            header, response = envelope.header, envelope.payload
            response = response.http if response is not None else None
            message = response.message if response is not None else None
            status = _status(message.Status if message is not None else None)
            if status is not None and not 200 <= status < 300:
                return WatPage(status, None, None)  # skipped by the caller
            page_url = _page_url(header.uri if header is not None else None)
            meta = response.html if response is not None else None
            if meta is None:
                return WatPage(status, page_url, None)
            links = None
            if meta.Links and (
                b"IMG@" in payload or b"\\u00" in payload and _ESCAPED_IMG(meta.Links)
            ):
                try:
                    links = _LINKS.decode(meta.Links)
                except _DECODE_ERRORS:  # not a list of objects: the general way
                    return _read_wat_general(payload)
            images = [
                (link.url, link.alt, link.title) for link in links or () if link.path == "IMG@/src"
            ]
            base_href = meta.Head.Base if meta.Head is not None else None
            return WatPage(status, page_url, _page(page_url, base_href, images))
    return _read_wat_general(payload)


def _read_wat_general(payload: bytes) -> WatPage:
    envelope = parse_wat(payload)
    status = wat_status(envelope)
    if status is not None and not 200 <= status < 300:
        return WatPage(status, None, None)
    page_url, page = image_pairs_from_wat(envelope)
    return WatPage(status, page_url, page)


try:  # the fields `read_wat` uses, decoded without building the rest (the `extract` extra)
    import msgspec
except ImportError:  # pragma: no cover - without msgspec every record goes the general way
    msgspec = None

if msgspec is not None:
    # Every field is optional (absent or null: None) and typed only as far as the general path
    # needs a type: an object where it reads a key, a list for `Links` (checked when decoded),
    # anything else Any. No struct can be in a reference cycle: gc=False.

    class _Link(msgspec.Struct, gc=False):
        path: Any = None
        url: Any = None
        alt: Any = None
        title: Any = None

    class _Head(msgspec.Struct, gc=False):
        Base: Any = None

    class _Html(msgspec.Struct, gc=False):
        Head: _Head | None = None
        Links: msgspec.Raw = msgspec.Raw()  # its JSON text (syntax checked), decoded if needed

    class _Message(msgspec.Struct, gc=False):
        Status: Any = None

    class _Http(
        msgspec.Struct, gc=False, rename={"message": "Response-Message", "html": "HTML-Metadata"}
    ):
        message: _Message | None = None
        html: _Html | None = None

    class _Payload(msgspec.Struct, gc=False, rename={"http": "HTTP-Response-Metadata"}):
        http: _Http | None = None

    class _Header(msgspec.Struct, gc=False, rename={"uri": "WARC-Target-URI"}):
        uri: Any = None

    class _Envelope(
        msgspec.Struct,
        gc=False,
        rename={"header": "WARC-Header-Metadata", "payload": "Payload-Metadata"},
    ):
        header: _Header | None = None
        payload: _Payload | None = None

    class _Doc(msgspec.Struct, gc=False):
        Envelope: _Envelope | None = None

    _DECODER = msgspec.json.Decoder(_Doc)
    _LINKS = msgspec.json.Decoder(list[_Link] | None)
    _DECODE_ERRORS: tuple[type[Exception], ...] = (msgspec.DecodeError, msgspec.ValidationError)
else:  # pragma: no cover
    _DECODER = _LINKS = None
    _DECODE_ERRORS = ()
