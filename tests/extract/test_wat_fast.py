"""The WAT fast paths (the compiled scan; msgspec, only the fields used) equal the general one
(full JSON parse), on fixed cases, on generated WAT records and on the shared real WAT."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metacurate.extract.pairs import PageImages
from metacurate.extract.scanner import utf8_valid
from metacurate.extract.wat import WatFormatError, _read_wat_general, read_wat
from metacurate.kernel import calls

wat_scan = calls.wat_scan
needs_scan = pytest.mark.skipif(wat_scan is None, reason="compiled scan not built")

pytest.importorskip("msgspec")


def _doc(links: object, status: object = "200", head: object = None, uri: object = None) -> dict:
    html: dict[str, object] = {"Links": links}
    if head is not None:
        html["Head"] = head
    return {
        "Envelope": {
            "WARC-Header-Metadata": {"WARC-Target-URI": uri or "http://ex.com/a/p.html"},
            "Payload-Metadata": {
                "HTTP-Response-Metadata": {
                    "Response-Message": {"Status": status},
                    "HTML-Metadata": html,
                }
            },
        }
    }


IMG = {"path": "IMG@/src", "url": "i.jpg", "alt": "a cat"}
CASES = [
    json.dumps(_doc([IMG, {"path": "A@/href", "url": "x"}])).encode(),
    json.dumps(_doc([IMG], head={"Base": "http://b.org/d/"})).encode(),
    json.dumps(_doc([IMG], head={"Base": 5})).encode(),
    json.dumps(_doc([IMG], head="not an object")).encode(),
    json.dumps(_doc({"path": "IMG@/src"})).encode(),  # Links not a list
    json.dumps(_doc([IMG, "x", 3, None])).encode(),  # non-object links
    json.dumps(_doc([IMG], status=404)).encode(),
    json.dumps(_doc([IMG], status="2x")).encode(),
    json.dumps(_doc([IMG], status=[200])).encode(),
    json.dumps(_doc([IMG], uri=7)).encode(),
    json.dumps(_doc([{"path": "IMG@/src", "url": 5, "alt": ["x"], "title": "t"}])).encode(),
    json.dumps(_doc(None)).encode(),
    json.dumps({"Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata": {}}}}).encode(),
    json.dumps({"Envelope": None}).encode(),
    json.dumps([1]).encode(),
    # "IMG@/src" written with escapes: \u0049 is "I", \/ is "/"
    b'{"Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata": {"HTML-Metadata":'
    b' {"Links": [{"path": "\\u0049MG@\\/src", "url": "http://x.org/i.png", "alt": "esc"}]}}}}}',
    b'{"Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata": {"HTML-Metadata":'
    b' {"Links": [{"path": "IMG@\\/src", "url": "http://x.org/i.png", "alt": "slash"}]}}}}}',
    *(
        b'{"Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata": {"HTML-Metadata":'
        b' {"Links": [{"path": "A@/href", "url": "\\u00e9"}, {"path": "' + path + b'",'
        b' "url": "http://x.org/i.png", "alt": "esc"}]}}}}}'
        for path in (
            rb"IM\u0047@/src",
            rb"IMG\u0040/src",
            rb"IMG@\u002Fsrc",
            rb"IMG@\u002fsrc",
            rb"IMG@/\u0073rc",
            rb"IMG@/s\u0072c",
            rb"IMG@/sr\u0063",
            rb"I\u004Dg@/src",  # (not IMG@/src: no pair)
            rb"\u0049\u004d\u0047\u0040\/\u0073\u0072\u0063",
        )
    ),
    # duplicate keys: the last one counts
    b'{"Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata": {"HTML-Metadata":'
    b' {"Links": [{"path": "IMG@/src", "url": "http://x.org/1.png", "url": "http://x.org/2.png",'
    b' "alt": "dup"}]}}}}, "Envelope": 3}',
    b'{"Envelope": {}, "Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata":'
    b' {"HTML-Metadata": {"Links": [{"path": "IMG@/src", "url": "http://x.org/3.png",'
    b' "alt": "dup2"}]}}}}}',
    # invalid UTF-8 in a field the fast path does not read
    b'{"Envelope": {"Other": "\xff", "Payload-Metadata": {}}}',
    b'{"Envelope": {"Other": "\\ud800", "Payload-Metadata": {}}}',  # lone surrogate
    b'{"Envelope": {"Other": NaN}}',
    b'{"Envelope": {"Other": 1e999}}',
    b'{"Envelope": {"Other": [1,]}}',
    b'{"Envelope": {}} trailing',
    b"",
    # for the compiled scan: escapes in the fields read, keys spelled with escapes, other types
    b'{"Envelope": {"WARC-Header-Metadata": {"WARC-Target-URI": "http://a.org/\\u00e9\\n\\"q"},'
    b' "Payload-Metadata": {"HTTP-Response-Metadata": {"Response-Message": {"Status": "200"},'
    b' "HTML-Metadata": {"Head": {"Base": "\\/b\\/"}, "Links": [{"path": "IMG@/src",'
    b' "url": "i\\ud83d\\ude00.png", "alt": "\\t x \\u3000", "title": "\\u0000"}]}}}}}',
    b'{"Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata": {"HTML-Metadata":'
    b' {"Links": [{"path": "IMG@/src", "url": "i.png", "alt": "\\ud83d"}]}}}}}',  # lone, read
    b'{"Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata": {"HTML-Metadata":'
    b' {"Links": [{"path": "IMG@/src", "url": "i.png", "alt": "\\udc00x"}]}}}}}',
    b'{"Envel\\u006fpe": {"Payload-Metadata": {}}}',
    b'{"Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata": {"HTML-Metadata":'
    b' {"Links": [{"p\\u0061th": "IMG@/src", "url": "i.png", "alt": "a"}]}}}}}',
    b'{"Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata": {"HTML-Metadata":'
    b' {"Links": [{"path": "IMG@/src", "url": "i.png", "alt": "", "title": null},'
    b' {"path": "IMG@/src", "alt": " "}, {"path": "IMG@/src"}, {}]}}}}}',
    b'{"Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata": {"HTML-Metadata": null}}}}',
    b'{"Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata": {"Response-Message":'
    b' {"Status": 200.0}, "HTML-Metadata": {}}}}}',
    b'{"Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata": {"Response-Message":'
    b' {"Status": " 204 "}, "HTML-Metadata": {"Links": []}}}}}',
    b'\xef\xbb\xbf{"Envelope": {}}',  # a BOM
    b'{"Envelope": {"x": "\x01"}}',  # a control character
    b'{"Envelope": {"x": "\xed\xa0\x80"}}',  # an encoded surrogate
    b'{"Envelope": {"x": [1, -0.5e+3, true, false, null, {}, []]}} \r\n\t',
    b'{"Envelope": {"x": 01}}',
    b'{"Envelope": {"x": tru}}',
    b'{"Envelope": {"x": "\\x"}}',
    b'{"Envelope": {"x": "\\u12"}}',
    b'{"Envelope": {"x": "abc}}',
    b'{"Envelope": {"x": 1,}}',
    b'{"Envelope"  :  {  }  }',
    b'{"Envelope": {}',
    b"[" * 300 + b"]" * 300,
    b'{"Envelope": {"x": ' + b"[" * 300 + b"]" * 300 + b"}}",
]


def _view(result: object) -> object:
    if isinstance(result, Exception):
        return ("error", str(result))
    status, page_url, page = result  # type: ignore[misc]
    if page is None:
        return status, page_url, None
    assert isinstance(page, PageImages)
    return status, page_url, page.pairs, [type(p) for p in page.pairs], dict(page.counts)


def _run(fn, payload):  # type: ignore[no-untyped-def]
    try:
        return fn(payload)
    except WatFormatError as exc:
        return exc


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("payload", CASES)
def test_fast_path_equals_general(payload: bytes, compiled: bool) -> None:
    if compiled and wat_scan is None:
        pytest.skip("compiled scan not built")
    fast = _run(lambda p: read_wat(p, utf8_valid, wat_scan if compiled else None), payload)
    general = _run(_read_wat_general, payload)
    assert _view(fast) == _view(general)
    if any(f'"alt": "{t}"'.encode() in payload for t in ("esc", "slash", "dup2")) and (
        b"I\\u004Dg" not in payload
    ):
        assert general.page.pairs  # the escaped path and the last duplicate are read


# --- generated WAT records: the compiled scan against the general path --------------------


def _mostly(common: st.SearchStrategy, other: st.SearchStrategy) -> st.SearchStrategy:
    """``common`` nine times in ten, else ``other``."""
    return st.integers(0, 9).flatmap(lambda k: common if k else other)


_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("\n\t \u3000\x85"),
    max_size=8,
)
_SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
)
#: a field read: mostly a string, sometimes null or another type (NaN too)
_FIELD = _mostly(_TEXT, _SCALAR | st.floats())
_URLS = [
    "i.png",
    "/a/b.jpg",
    "http://x.org/c.gif",
    "https://x.org/d.gif",
    "http://x.org/c.gif",
    "https://x.org/d.gif",
    "HTTP://x.org/e.gif",
    "http://x.org/[f].gif",
    "http://x.org/g h.gif",
    "http://x.org/\u00e9.gif",
    " data:x",
]
_LINK = st.fixed_dictionaries(
    {"path": _mostly(st.sampled_from(["IMG@/src", "IMG@/src", "A@/href", ""]), _FIELD)},
    optional={
        "url": _mostly(st.sampled_from(_URLS), _FIELD),
        "alt": _FIELD,
        "title": _FIELD,
        "other": _SCALAR,
    },
)
_ANY = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)


_ESCAPES = [
    ("/", "\\/"),
    ('"IMG', '"\\u0049MG'),
    ("@/src", "@\\u002fsrc"),
    ('"i.png', '"\\u0069.png'),
    ("http:", "http\\u003A"),
    ('"alt"', '"\\u0061lt"'),
    ('"Links"', '"Li\\u006eks"'),
    ("\u3000", "\\u3000"),
]
#: a duplicate key, given before the key's own value: what its first value can be
_DUPLICATES = {
    b'"Envelope"': [
        b"null",
        b'{"Payload-Metadata": {"HTTP-Response-Metadata": {"HTML-Metadata": {"Links": [{"path":'
        b' "IMG@/src", "url": "e.png", "alt": "dup"}]}}}}',
    ],
    b'"Links"': [b"null", b'[{"path": "IMG@/src", "url": "d.png", "alt": "dup"}]'],
    b'"url"': [b"null", b'"x.png"'],
    b'"alt"': [b"null", b'"dup"', b"3"],
    b'"Status"': [b"null", b'"404"'],
    b'"WARC-Target-URI"': [b'"http://d.org/"'],
}


@st.composite
def wat_records(draw: st.DrawFn) -> bytes:
    """A WAT JSON text: the fields read, sometimes of another type or missing, serialized with
    random escaping and whitespace, sometimes with a duplicate key or a byte changed."""
    links = [draw(_mostly(_LINK, _ANY)) for _ in range(draw(st.integers(0, 6)))]
    html: dict[str, object] = {"Links": links if draw(st.integers(0, 9)) else draw(_ANY)}
    if draw(st.booleans()):
        html["Head"] = draw(st.fixed_dictionaries({}, optional={"Base": _FIELD}))
    message = draw(
        st.fixed_dictionaries(
            {}, optional={"Status": _mostly(st.sampled_from(["200", "404", " 20x"]), _FIELD)}
        )
    )
    response: dict[str, object] = {"Response-Message": message}
    if draw(st.integers(0, 9)):
        response["HTML-Metadata"] = html if draw(st.integers(0, 9)) else draw(_ANY)
    envelope = {
        "WARC-Header-Metadata": {
            "WARC-Target-URI": draw(_mostly(st.sampled_from(["http://e.org/p/q.html", ""]), _FIELD))
        },
        "Payload-Metadata": {"HTTP-Response-Metadata": response, "x": draw(_ANY)},
    }
    doc = {"Container": draw(_ANY), "Envelope": envelope}
    try:
        text = json.dumps(
            doc, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 0, 2]))
        )
    except ValueError:
        text = "{}"
    for plain, escaped in _ESCAPES:  # a character may be written as an escape
        if draw(st.booleans()):
            text = text.replace(plain, escaped)
    data = text.encode("utf-8", "surrogatepass")
    edit = draw(st.integers(0, 9))
    if edit == 1 and data:  # a byte changed
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    elif edit in (2, 4, 5):  # a duplicate key (the last one counts)
        key = draw(st.sampled_from(sorted(_DUPLICATES)))
        first = draw(st.sampled_from(_DUPLICATES[key]))
        data = data.replace(key + b":", key + b": " + first + b", " + key + b":", 1)
    elif edit == 3 and data:  # cut short
        data = data[: draw(st.integers(0, len(data) - 1))]
    return data


@needs_scan
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=wat_records())
def test_compiled_scan_equals_general_on_generated_records(payload: bytes) -> None:
    fast = _run(lambda p: read_wat(p, utf8_valid, wat_scan), payload)
    general = _run(_read_wat_general, payload)
    assert _view(fast) == _view(general)


@needs_scan
@settings(max_examples=300, deadline=None)
@given(
    payload=st.binary(max_size=64)
    | st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_compiled_scan_equals_general_on_random_bytes(payload: bytes) -> None:
    fast = _run(lambda p: read_wat(p, utf8_valid, wat_scan), payload)
    general = _run(_read_wat_general, payload)
    assert _view(fast) == _view(general)


@needs_scan
def test_compiled_scan_reads_the_real_wat_itself() -> None:
    """Every record of the shared real WAT: equal to the general path, and read by the compiled
    scan itself (not handed to the general path)."""
    from metacurate.extract.warc import ErrorLog, iter_records

    shared = Path(os.environ.get("METACURATE_SHARED", Path(__file__).parents[3] / "shared"))
    path = shared / "data" / "webarchive" / "whirlwind.warc.wat.gz"
    if not path.exists():
        pytest.skip("shared web-archive samples not found (METACURATE_SHARED)")
    records = [r for r in iter_records(str(path), ErrorLog()) if r.kind == "wat"]
    assert records
    for record in records:
        assert wat_scan(record.payload) is not None
        fast = _run(lambda p: read_wat(p, utf8_valid, wat_scan), record.payload)
        assert _view(fast) == _view(_run(_read_wat_general, record.payload))


_PLAIN_TEXT = st.one_of(
    st.text(st.characters(codec="ascii", min_codepoint=32, max_codepoint=126), max_size=6),
    st.sampled_from(
        ["", " a", "b ", "c\td", "\u00e9t\u00e9", "\u3000x", "y\u2028", "\x85", "z\x1c"]
    ),
)


@st.composite
def simple_pages(draw: st.DrawFn) -> bytes:
    """A valid WAT record whose `IMG@/src` links are mostly ones the scan returns as pairs
    (absolute http(s) sources, texts without white space at the ends)."""
    links = []
    for _ in range(draw(st.integers(0, 5))):
        link: dict[str, object] = {"path": draw(st.sampled_from(["IMG@/src"] * 4 + ["A@/href"]))}
        link["url"] = draw(_mostly(st.sampled_from(_URLS[2:6]), st.sampled_from(_URLS)))
        for name in ("alt", "title"):
            if draw(st.integers(0, 3)):
                link[name] = draw(_mostly(_PLAIN_TEXT, st.none()))
        links.append(link)
    doc = {
        "Envelope": {
            "WARC-Header-Metadata": {"WARC-Target-URI": "http://e.org/p/q.html"},
            "Payload-Metadata": {
                "HTTP-Response-Metadata": {
                    "Response-Message": {"Status": "200"},
                    "HTML-Metadata": {"Links": links},
                }
            },
        }
    }
    return json.dumps(doc, ensure_ascii=draw(st.booleans())).encode()


@needs_scan
@settings(max_examples=400, deadline=None)
@given(payload=simple_pages())
def test_compiled_scan_returns_ready_pairs_equal_to_general(payload: bytes) -> None:
    import metacurate.extract.scanner  # noqa: F401  (it gives the scan the ImagePair class)

    fast = _run(lambda p: read_wat(p, utf8_valid, wat_scan), payload)
    general = _run(_read_wat_general, payload)
    assert _view(fast) == _view(general)
