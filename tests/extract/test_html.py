"""Pure page-level functions: one HTML or WAT page → (url, text, source) pairs."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from metacurate.extract.html import decode_html, html_encoding, image_pairs_from_html
from metacurate.extract.pairs import ImagePair
from metacurate.extract.warc import PayloadError, decode_payload
from metacurate.extract.wat import image_pairs_from_wat

PAGE = "http://example.org/a/b/page.html"


def pairs(html: str, page_url: str | None = PAGE) -> list[ImagePair]:
    return image_pairs_from_html(html.encode(), page_url).pairs


def test_attributes_relative_urls_and_drops() -> None:
    page = image_pairs_from_html(
        b"""<html><body>
        <img src="cat.jpg" alt="  a\tcat\non a mat\r ">
        <img src="/abs/dog.png" title="Dog" alt="">
        <img src="//cdn.example.net/x.gif" data-image-title="Cdn image">
        <img src="data:image/png;base64,AAAA" alt="inline">
        <img src="javascript:alert(1)" alt="script">
        <img src="ftp://example.org/f.jpg" alt="ftp">
        <img alt="no src">
        <img src="https://other.org/o.jpg" alt="Both" title="Both">
        <img src="plain.jpg">
        <IMG SRC="UPPER.JPG" ALT="Upper &amp; entity">
        </body></html>""",
        PAGE,
    )
    assert page.pairs == [
        ImagePair("http://example.org/a/b/cat.jpg", "a cat on a mat", "alt"),
        ImagePair("http://example.org/abs/dog.png", "Dog", "title"),
        ImagePair("http://cdn.example.net/x.gif", "Cdn image", "data-image-title"),
        ImagePair("https://other.org/o.jpg", "Both", "alt"),
        ImagePair("https://other.org/o.jpg", "Both", "title"),
        ImagePair("http://example.org/a/b/UPPER.JPG", "Upper & entity", "alt"),
    ]
    c = page.counts
    assert c["images_seen"] == 10
    assert c["with_text"] == 9
    assert c["relative_urls_resolved"] == 4
    assert c["dropped_data_uri"] == 1
    assert c["dropped_non_http_scheme"] == 2
    assert c["dropped_empty_src"] == 1


def test_base_href_wins_over_page_url() -> None:
    html = '<head><base href="/static/"></head><body><img src="i.png" alt="x"></body>'
    assert pairs(html)[0].url == "http://example.org/static/i.png"
    html = '<head><base href="https://cdn.example.com/b/"></head><img src="../i.png" alt="x">'
    assert pairs(html)[0].url == "https://cdn.example.com/i.png"


def test_relative_without_page_url_is_dropped() -> None:
    page = image_pairs_from_html(
        b'<img src="a.png" alt="x"><img src="http://h/b.png" alt="y">', None
    )
    assert [p.url for p in page.pairs] == ["http://h/b.png"]
    assert page.counts["dropped_unresolvable_relative"] == 1


def test_texts_are_normalized() -> None:
    page = image_pairs_from_html(
        b'<img src="a.png" alt="\n\ta  b\r\n"><img src="b.png"><img src="c.png" alt=" \t ">',
        "http://h/",
    )
    assert [(p.url, p.text) for p in page.pairs] == [("http://h/a.png", "a  b")]
    assert page.counts["images_seen"] == 3 and page.counts["with_text"] == 1


@pytest.mark.parametrize(
    ("body", "charset", "expected"),
    [
        ('<img src="a.jpg" alt="Привет мир">'.encode("cp1251"), "windows-1251", "Привет мир"),
        (
            '<meta charset="windows-1251"><img src="a.jpg" alt="Привет мир">'.encode("cp1251"),
            None,
            "Привет мир",
        ),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
            '<img src="a.jpg" alt="中文图片说明">'.encode("gbk"),
            None,
            "中文图片说明",
        ),
        ('<img src="a.jpg" alt="Grüße aus Köln, schöne Bilder">'.encode(), None, None),
        ('<img src="a.jpg" alt="日本語のテキスト">'.encode(), "utf-8", "日本語のテキスト"),
    ],
)
def test_charset_header_meta_detection(
    body: bytes, charset: str | None, expected: str | None
) -> None:
    expected = expected or "Grüße aus Köln, schöne Bilder"
    assert image_pairs_from_html(body, PAGE, charset).pairs[0].text == expected


def test_bogus_http_charset_falls_back_to_meta() -> None:
    body = '<meta charset="windows-1251"><p>Текст</p>'.encode("cp1251")
    assert html_encoding(body, "no-such-charset") == "cp1251"
    assert "Текст" in decode_html(body, "no-such-charset")


def test_decode_payload_encodings() -> None:
    html = b"<html><img src=a.png alt=x></html>"
    assert decode_payload(gzip.compress(html), None, "gzip") == html
    assert decode_payload(zlib.compress(html), None, "deflate") == html
    raw_deflate = zlib.compressobj(wbits=-15)
    assert decode_payload(raw_deflate.compress(html) + raw_deflate.flush(), None, "deflate") == html
    chunked = b"5\r\n<html\r\n1d;ext=1\r\n><img src=a.png alt=x></html>\r\n0\r\n\r\n"
    assert decode_payload(chunked, "chunked", None) == html
    chunked_gz = gzip.compress(html)
    framed = b"%x\r\n" % len(chunked_gz) + chunked_gz + b"\r\n0\r\n\r\n"
    assert decode_payload(framed, "chunked", "gzip") == html
    # Common Crawl stores decoded bodies but may keep the header: leave them alone.
    assert decode_payload(html, "chunked", "gzip") == html
    with pytest.raises(PayloadError):
        decode_payload(b"\x1f\x8b\x08\x00garbage", None, "gzip")
    with pytest.raises(PayloadError):
        decode_payload(b"ff\r\nshort", "chunked", None)


def test_wat_links() -> None:
    envelope = {
        "WARC-Header-Metadata": {"WARC-Target-URI": PAGE},
        "Payload-Metadata": {
            "HTTP-Response-Metadata": {
                "HTML-Metadata": {
                    "Head": {"Base": "http://static.example.org/s/"},
                    "Links": [
                        {"path": "IMG@/src", "url": "i.png", "alt": " An\nimage "},
                        {"path": "IMG@/src", "url": "j.png", "title": "T"},
                        {"path": "IMG@/src", "url": "data:image/gif;base64,R0", "alt": "d"},
                        {"path": "A@/href", "url": "k.html", "text": "link"},
                        {"path": "IMG@/src", "url": "n.png"},
                    ],
                }
            }
        },
    }
    page_url, page = image_pairs_from_wat(json.dumps({"Envelope": envelope}).encode())
    assert page_url == PAGE
    assert page is not None
    assert page.pairs == [
        ImagePair("http://static.example.org/s/i.png", "An image", "alt"),
        ImagePair("http://static.example.org/s/j.png", "T", "title"),
    ]
    assert page.counts["images_seen"] == 4
    assert page.counts["dropped_data_uri"] == 1
    # A request record's WAT carries no HTML-Metadata.
    assert image_pairs_from_wat({"WARC-Header-Metadata": {}})[1] is None
