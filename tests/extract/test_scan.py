"""The streaming `<img>` scan against the DOM reference (resiliparse), and its compiled and
pure-Python forms against each other, on real pages and on generated HTML."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from metacurate.extract import attrs
from metacurate.extract.attrs import image_pairs_fast, resolve_references
from metacurate.extract.html import image_pairs_from_html
from metacurate.extract.pairs import Resolver, url_scheme
from metacurate.extract.scan import scan_html_python
from metacurate.extract.scanner import (
    DOUBLE_BYTE,
    byte_facts,
    byte_facts_python,
    native_scan_available,
    scan_html,
    strict_decodes,
)
from metacurate.extract.warc import decode_payload
from metacurate.kernel import htmlscan as _htmlscan  # None when not built

PAGE = "http://example.com/dir/page.html?q=1"
IMPLEMENTATIONS = ["native", "python"]


@pytest.fixture(params=IMPLEMENTATIONS)
def impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "native":
        if not native_scan_available():
            pytest.skip("compiled scan not built (python setup.py build_ext --inplace)")
        monkeypatch.delenv("METACURATE_NO_NATIVE", raising=False)
    else:
        monkeypatch.setenv("METACURATE_NO_NATIVE", "1")
    return request.param


def assert_same(body: bytes, page_url: str | None = PAGE, charset: str | None = None) -> None:
    want = image_pairs_from_html(body, page_url, charset)
    got = image_pairs_fast(body, page_url, charset)
    assert got.pairs == want.pairs, body
    assert +got.counts == +want.counts, body


def real_pages(folder: Path) -> list[tuple[bytes, str | None, str | None]]:
    pages = []
    for name in ("pages_16.warc.gz", "whirlwind.warc.gz", "link-extraction-test.warc"):
        for record in ArchiveIterator(str(folder / name), record_types=WarcRecordType.response):
            if "html" not in (record.http_content_type or ""):
                continue
            headers = record.http_headers
            body = decode_payload(
                record.reader.read(),
                headers.get("Transfer-Encoding"),
                headers.get("Content-Encoding"),
            )
            pages.append((body, record.headers.get("WARC-Target-URI"), record.http_charset))
    return pages


def test_real_pages_equal_the_dom_reference(
    webarchive: Path, impl: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = real_pages(webarchive)
    assert len(pages) >= 17
    for body, url, charset in pages:
        assert_same(body, url, charset)
    fallbacks: list[str | None] = []

    def dom(body: bytes, url: str | None, charset: str | None = None):  # type: ignore[no-untyped-def]
        fallbacks.append(url)
        return image_pairs_from_html(body, url, charset)

    monkeypatch.setattr(attrs, "image_pairs_from_html", dom)
    for body, url, charset in pages:
        image_pairs_fast(body, url, charset)
    assert fallbacks == []  # none of them needed the DOM


def test_compiled_and_python_scans_agree_on_real_pages(webarchive: Path) -> None:
    if not native_scan_available():
        pytest.skip("compiled scan not built")
    for body, _, _ in real_pages(webarchive):
        assert scan_html(body) == scan_html_python(body)


CASES = [
    b" " * 1010 + b"<meta charset=utf-8><img alt='caf\xc3\xa9' src=/late-meta.jpg>",
    b" " * 990 + b"<meta charset=utf-8><img alt='caf\xc3\xa9' src=/early-meta.jpg>",
    b"<meta charset=utf-16le><img alt=a src=/u16.jpg>",
    b"<meta charset=iso-2022-jp><img alt=a src=/jis.jpg>",
    b"<noscript><img alt=a src=/n.jpg></noscript>",
    b"<template><img alt=a src=/t.jpg><base href='http://t.org/'></template><img alt=b src=u>",
    b"<image alt=a src=/i.jpg>",
    b"<select><style><img alt=a src=/q.jpg></style></select><img alt=b src=/q2.jpg>",
    b"<img alt='a&amp;b &copy=x &copy; &notit; &#x80; &#0; &#xD800;' src='/e?a=1&amp;b=2&copy=3'>",
    b"<img alt='&#x110000;&#128;&#x9F;&#13;x&#;&#x;&#65&lt&gt;&ltx&lt=&AMP;&amp' src=/n.jpg>",
    b"<img alt=a alt=b ALT=c src=/d.jpg SRC=/e.jpg>",
    b"<img alt='a\r\nb\rc' src='/c\r\n.jpg'>",
    b"<svg><title>icon</title><style>a{}</style><![CDATA[ <img alt=a src=/c.jpg> ]]></svg>"
    b"<img alt=b src=/s.jpg>",
    b"<![CDATA[ <img alt=a src=/c4.jpg> ]]><img alt=b src=/c5.jpg>",
    b"<title><img alt=a src=/z.jpg></title><textarea><img alt=a src=/z2.jpg></textarea>",
    b"<base href='http://other.org/d/'><base href='http://no.org/'><img alt=a src=r.jpg>",
    b"<base><base href=''><img alt=a src=r.jpg>",
    b"<img alt src=/v.jpg title=t data-image-title=' d '>",
    b"<img/alt=x/src=/w.jpg><img/src=/w2.jpg/alt=y/>",
    b"<!-- <img alt=a src=/c1.jpg> --><img alt=b src=/c2.jpg><!--> <img alt=c src=/c3.jpg>",
    b"<!---><img alt=a src=/d1.jpg><!-- --!><img alt=b src=/d2.jpg> --!><img alt=c src=/d3.jpg>",
    b"<script><!--<script></script><img alt=a src=/sc.jpg></script>--></script>"
    b"<img alt=b src=/sd.jpg>",
    b"<script>a<b</script ><img alt=a src=/sx.jpg><script>x</script foo='>'><img alt=b src=y>",
    b"<xmp><img alt=a src=/1></xmp><iframe><img alt=a src=/2></iframe><noembed><img alt=a "
    b"src=/3></noembed><noframes><img alt=a src=/4></noframes><img alt=b src=/5>",
    b"<plaintext><img alt=a src=/pt.jpg>",
    b"<table><tr><td><img alt=a src=/1.jpg></td></tr><img alt=b src=/2.jpg></table>",
    b"<table><tr><td><img alt=a src=/1.jpg><td><img alt=b src=/2.jpg></table><img alt=c src=3>",
    b"<frameset><img alt=a src=/f.jpg></frameset>",
    b"<img alt='x\x00y' src=/nul.jpg>",
    b"<img alt=a src=/x.jpg",
    b"<img alt=a src=/x.jpg/><img alt=a src='/y.jpg'/>",
    b"<?xml version='1.0'?><!DOCTYPE html PUBLIC 'a>b'><img alt=a src=/dt.jpg>",
    b"</ img alt=a src=/b1.jpg><img alt=b src=/b2.jpg></><img alt=c src=/b3.jpg>",
    b"<math><mi><img alt=a src=/m.jpg></mi></math><svg><desc><img alt=a src=/d.jpg></svg>",
    b"<svg><path d='M0 0'/><g><text>x<tspan>y</tspan></text></g></svg><img alt=a src=/p.jpg>",
    b"<img alt=\"caf\xc3\xa9 \xe2\x80\x9cq\xe2\x80\x9d\" src='/caf\xc3\xa9.jpg'>",
    b"<meta charset=windows-1251><img alt='\xcf\xf0\xe8' src=/cyr.jpg>",
    b"<img alt='bad \xff\xfe utf8' src=/bad.jpg>",
    b"<IMG ALT=upper SRC=/UP.JPG><Img Alt=mixed Src=/mixed.jpg>",
    b"<img alt=a src=data:image/gif;base64,R0 title=t><img alt=b src=javascript:x>",
]


@pytest.mark.parametrize("body", CASES)
def test_constructs_equal_the_dom_reference(body: bytes, impl: str) -> None:
    assert_same(body)
    assert_same(body, None)


def test_character_references_in_attribute_values() -> None:
    assert resolve_references("a&amp;b&ampc&amp=d&#65;&#x42&#0;&#x80;&notin;&notit;") == (
        "a&b&ampc&amp=dAB\ufffd€∉&notit;"
    )
    assert resolve_references("x\r\ny\rz&#13;") == "x\ny\nz\r"


# -- generated HTML ---------------------------------------------------------------------------

_WORDS = st.sampled_from(
    ["a", "cat", "Dog", "caf\u00e9", "\u732b", " ", "\t", "\n", "\r\n", "x y", "&amp;", "&lt",
     "&copy=", "&#65;", "&#x41", "&#0;", "&#x80;", "&bogus;", "&", "<", ">", "=", "'", '"', "`",
     "/", "-->", "<img", "</script>", "<!--", "]]>"]
)  # fmt: skip
_NAMES = st.sampled_from(
    ["alt", "ALT", "title", "src", "Src", "data-image-title", "data-src", "srcset", "href",
     "width", "x", "a'b", 'q"', "=eq", "<lt"]
)  # fmt: skip
_TAGS = st.sampled_from(
    ["img", "IMG", "image", "base", "div", "p", "a", "span", "table", "tr", "td", "th",
     "caption", "tbody", "script", "style", "textarea", "title", "xmp", "iframe", "noembed",
     "noframes", "noscript", "template", "svg", "math", "mi", "desc", "foreignObject", "path",
     "g", "select", "option", "head", "body", "br", "font", "plaintext", "frameset"]
)  # fmt: skip
_SRC = st.sampled_from(
    ["/i.jpg", "i.jpg", "../up/i.png", "//cdn.x/i.gif", "https://a.b/c?d=1&amp;e=2", "", " ",
     "data:x", "javascript:0", "http://[bad", "?q", "#f", "mailto:x", "\u00e9.jpg"]
)  # fmt: skip


@st.composite
def attribute(draw: st.DrawFn) -> str:
    name = draw(_NAMES)
    value = draw(_SRC) if name.lower() in ("src", "href") else "".join(draw(st.lists(_WORDS)))
    if draw(st.integers(0, 40)) == 0:
        value = value * 300  # very long values
    quote = draw(st.sampled_from(["'", '"', "", "none"]))
    if quote == "none":
        return name
    if quote == "":
        value = "".join(c for c in value if c not in " \t\n\r>") or "v"
    else:
        value = value.replace(quote, "")
    return f"{name}{draw(st.sampled_from(['=', ' = ', '= ']))}{quote}{value}{quote}"


@st.composite
def tag(draw: st.DrawFn) -> str:
    name = draw(st.one_of(st.just("img"), _TAGS))
    if draw(st.booleans()) and name not in ("img", "IMG", "image"):
        return f"</{name}{draw(st.sampled_from(['', ' ', ' x=1']))}>"
    attrs = draw(st.lists(attribute(), max_size=5))
    if name == "img":  # mostly with a text and a src
        attrs += [f"src='{draw(_SRC)}'", f"alt='{draw(_WORDS)}'"][: draw(st.integers(0, 2))]
        attrs = draw(st.permutations(attrs))
    seps = [draw(st.sampled_from([" ", "\n", "/", "  "])) for _ in attrs]
    inner = "".join(sep + a for sep, a in zip(seps, attrs, strict=True))
    end = draw(st.sampled_from([">", "/>", " >", ""]))  # "": left open
    return f"<{name}{inner}{end}"


_MARKUP = st.sampled_from(
    ["<!--", "-->", "--!>", "<!-->", "<!--->", "<!-- <!-- -->", "<![CDATA[", "]]>",
     "<!DOCTYPE html>", "<?php ?>", "</>", "</ x>", "<", ">", "&", "<script><!--", "<script>",
     "</script>", "-->",
     "<!--<script>", "text", " ", "\r\n", "<br>", "</p>", "<b>", "<math><mi>", "<svg><title>",
     "<table><tr><td>", "</td></tr></table>"]
)  # fmt: skip


@st.composite
def html_page(draw: st.DrawFn) -> bytes:
    parts = draw(st.lists(st.one_of(tag(), tag(), _MARKUP, _WORDS), max_size=40))
    text = "".join(parts)
    charset = draw(st.sampled_from(["utf-8", "utf-8", "cp1252", "gbk"]))
    body = text.encode(charset, "replace")
    if draw(st.integers(0, 5)) == 0:  # invalid bytes
        at = draw(st.integers(0, len(body)))
        body = (
            body[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x81\x22", b"\x8f<"])) + body[at:]
        )
    return body


@given(body=html_page(), charset=st.sampled_from([None, "utf-8", "windows-1252", "gbk"]))
@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_html_equals_the_dom_reference(body: bytes, charset: str | None) -> None:
    assert_same(body, PAGE, charset)


@given(body=html_page())
@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
def test_compiled_scan_equals_python_scan(body: bytes) -> None:
    if not native_scan_available():
        pytest.skip("compiled scan not built")
    assert scan_html(body) == scan_html_python(body)


@given(body=st.binary(max_size=300))
@settings(max_examples=400, deadline=None)
def test_random_bytes_equal_the_dom_reference(body: bytes) -> None:
    assert_same(b"<img alt=x src=/a>" + body + b"<img alt=y src=/b>")
    assert_same(b"<img src=/a>" + body + b"<img src=/b>")
    if native_scan_available():
        assert scan_html(body) == scan_html_python(body)


@given(
    body=st.lists(
        st.sampled_from(
            [b"a", b"<", b"charset", b"ChArSeT", b"chars", b"\x81", b"\x9d", b"\xc3\xa9",
             b"\xe2\x82\xac", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf0\x9f\x98\x80",
             b"\xc0\xaf", b"\xe0\x80\xaf", b"\xff", b"\xc3", b"12345678", b" " * 500]
        )
    ).map(b"".join)
)  # fmt: skip
@settings(max_examples=500, deadline=None)
def test_compiled_byte_facts_equal_python(body: bytes) -> None:
    if not native_scan_available():
        pytest.skip("compiled scan not built")
    assert byte_facts(body) == byte_facts_python(body)
    assert _htmlscan.utf8_valid(body) == _decodes_utf8(body)


_UTF8_VALID = [
    b"a", b"x" * 15, b"\xc3\xa9", b"\xc2\x80", b"\xdf\xbf", b"\xe2\x82\xac", b"\xe0\xa0\x80",
    b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xef\xbf\xbf", b"\xf0\x90\x80\x80", b"\xf0\x9f\x98\x80",
    b"\xf4\x8f\xbf\xbf", b"\xe4\xb8\xad",
]  # fmt: skip
_UTF8_INVALID = [
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xc0\xaf",
    b"\xc1\xbf", b"\xe0\x80\xaf", b"\xe0\x9f\xbf", b"\xf0\x8f\xbf\xbf", b"\xff", b"\xfe",
    b"\x80", b"\xbf", b"\xc3", b"\xe2\x82", b"\xf0\x9f", b"\xf0\x9f\x98", b"\xc3\xa9\xa9",
    b"\xe2\x82\xac\x80", b"\xc3a",
]  # fmt: skip


@st.composite
def _utf8_bodies(draw: st.DrawFn) -> bytes:
    """Valid UTF-8 pieces, with none, one or two invalid sequences put in between."""
    pieces = draw(st.lists(st.sampled_from(_UTF8_VALID), min_size=10, max_size=80))
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):
        at = draw(st.integers(0, len(pieces)))
        pieces.insert(at, draw(st.sampled_from(_UTF8_INVALID)))
    return b"".join(pieces)


@given(
    body=_utf8_bodies()
    | st.binary(min_size=60, max_size=300)
    | st.text(min_size=20, max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
@settings(max_examples=2000, deadline=None)
def test_compiled_utf8_check_equals_python_decoding(body: bytes) -> None:
    """The compiled check (16 bytes at a time from 64 bytes on) against Python's decoder,
    with sequences across every block boundary, cut at the end, overlong, surrogate, too
    large, and random bytes."""
    if not native_scan_available():
        pytest.skip("compiled scan not built")
    for cut in (len(body), len(body) - 1, len(body) - 2, len(body) - 3):
        assert _htmlscan.utf8_valid(body[:cut]) == _decodes_utf8(body[:cut]), body[:cut]


def _decodes_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@given(
    body=st.lists(
        st.one_of(
            st.sampled_from(["a", "<", "\u732b", "\u00e9", "\uac00", "\u30a2", "\uff71"]).map(
                lambda c: c.encode("utf-8")
            ),
            st.binary(min_size=1, max_size=2),
            st.sampled_from([b"\x81\x40", b"\xa4\xa1", b"\x88\x9f", b"\xb0\xa1", b"\xfe\xfe"]),
        )
    ).map(b"".join),
    codec=st.sampled_from(DOUBLE_BYTE),
)
@settings(max_examples=800, deadline=None)
def test_double_byte_validation_equals_python_decoding(body: bytes, codec: str) -> None:
    native = strict_decodes(body, codec)
    try:
        body.decode(codec)
        assert native
    except UnicodeDecodeError:
        assert not native


_URL_PART = st.sampled_from(
    ["/", "//", "a", "B", "img.jpg", ".", "..", "./", "../", "?", "#", ";", ":", "[", "]", "@",
     "%20", " ", "\u00e9", "http:", "HTTPS:", "data:", "x-y+z.1:", "cdn.example.com", ":80",
     "\\", "\x01"]
)  # fmt: skip
_BASES = st.sampled_from(
    ["http://example.com/dir/page.html?q=1", "https://a.b", "https://a.b/", "HTTP://Up.Case/x/",
     "http://[::1]/p/", "http://[bad/p", "ftp://f.org/d/", "http:///nohost/x", "dns:example.com",
     "http://h\u00e9.com/x"]
)  # fmt: skip


@given(
    base=_BASES,
    src=st.lists(_URL_PART, min_size=1, max_size=8).map("".join),
)
@example(base="http:///nohost/x", src="////[")  # urljoin gives 'http://[', which urlsplit refuses
@settings(max_examples=1500, deadline=None)
def test_url_shortcuts_equal_urllib(base: str, src: str) -> None:
    from urllib.parse import urljoin, urlsplit

    src = src.strip().translate(str.maketrans({"\n": None, "\r": None, "\t": None}))
    if not src:
        return
    try:
        want = urlsplit(src).scheme.lower()
    except ValueError:
        with pytest.raises(ValueError):
            url_scheme(src)
    else:
        assert url_scheme(src) == want
    try:
        want_url = urljoin(base, src)
    except ValueError:
        with pytest.raises(ValueError):
            Resolver(base).join(src)
        return
    resolver = Resolver(base)
    assert resolver.join(src) == want_url
    if resolver.http and not urlsplit(src).scheme:  # what add_image relies on
        # the scheme by hand: urljoin may return what urlsplit refuses ('http://[')
        assert want_url.split(":", 1)[0].lower() in ("http", "https")


@given(
    head=st.integers(0, 70),
    special=st.sampled_from([b"\x00", b"\x1b", b"~{", b"~", b"{", b"~~{", b"\x81", b"\x9d"]),
    tail=st.integers(0, 40),
)
@settings(max_examples=400, deadline=None)
def test_refused_bytes_anywhere(head: int, special: bytes, tail: int) -> None:
    """NUL, ESC and `~{` at any position (either side of a 16-byte block's end, `~` and `{`
    in two blocks) send the page to the DOM in both scans; the facts agree too."""
    if not native_scan_available():
        pytest.skip("compiled scan not built")
    body = b"<p>" + b"a" * head + special + b"b" * tail + b"<img alt=x src=/y.png>"
    assert scan_html(body) == scan_html_python(body)
    assert byte_facts(body) == byte_facts_python(body)
    refused = any(s in body for s in (b"\x00", b"\x1b", b"~{"))
    assert (scan_html(body) is None) == refused
