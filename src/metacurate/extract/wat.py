"""WAT metadata record (Common Crawl JSON) → image/text pairs from `HTML-Metadata.Links`."""

from __future__ import annotations

import json
from typing import Any

from metacurate.extract.pairs import PageImages, Resolver, add_image, resolve_base

try:  # several times faster than json on WAT records; optional (the `extract` extra)
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - without orjson, json reads the same documents
    _loads = json.loads


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
    page_url = page_url if isinstance(page_url, str) and page_url else None
    html_meta = _get(envelope, "Payload-Metadata", "HTTP-Response-Metadata", "HTML-Metadata")
    if not isinstance(html_meta, dict):
        return page_url, None
    base_href = _get(html_meta, "Head", "Base")
    base = resolve_base(page_url, base_href if isinstance(base_href, str) else None)
    resolver = Resolver(base) if base else None
    page = PageImages()
    links = html_meta.get("Links")
    for link in links if isinstance(links, list) else ():
        if not isinstance(link, dict) or link.get("path") != "IMG@/src":
            continue
        texts = [(name, link.get(name)) for name in ("alt", "title")]
        texts = [(n, t if isinstance(t, str) else None) for n, t in texts]
        src = link.get("url")
        add_image(page, src if isinstance(src, str) else None, texts, resolver)
    return page_url, page
