"""HTML page → image/text pairs; charset from the HTTP header, else `<meta>`, else detection."""

from __future__ import annotations

from resiliparse.parse.encoding import bytes_to_str, detect_encoding, map_encoding_to_html5
from resiliparse.parse.html import HTMLTree

from metacurate.extract.pairs import TEXT_SOURCES, PageImages, add_image, resolve_base


def html_encoding(body: bytes, http_charset: str | None = None) -> str:
    """The charset to decode `body` with: the HTTP header's if it names a known one, else the
    `<meta charset>` / `http-equiv` declaration, else byte-level detection (resiliparse)."""
    if http_charset:
        known = map_encoding_to_html5(http_charset.strip().strip("\"'"), fallback_utf8=False)
        if known:
            return known
    return detect_encoding(body, from_html_meta=True) or "utf-8"


def decode_html(body: bytes, http_charset: str | None = None) -> str:
    """Decode an HTML body by its declared or detected charset; undecodable bytes are dropped."""
    return bytes_to_str(body, html_encoding(body, http_charset))


def image_pairs_from_html(
    body: bytes | str, page_url: str | None, http_charset: str | None = None
) -> PageImages:
    """Every `<img>` with a non-empty `alt`, `title` or `data-image-title`, its `src` resolved
    against `<base href>` or `page_url`. `body` is raw bytes (decoded here) or already text."""
    html = body if isinstance(body, str) else decode_html(body, http_charset)
    page = PageImages()
    tree = HTMLTree.parse(html)
    document = tree.document
    if document is None:
        return page
    base_el = document.query_selector("base[href]")
    base = resolve_base(page_url, base_el.get_attribute("href") if base_el is not None else None)
    for img in document.get_elements_by_tag_name("img"):
        texts = [(name, img.get_attribute(name)) for name in TEXT_SOURCES]
        add_image(page, img.get_attribute("src"), texts, base)
    return page
