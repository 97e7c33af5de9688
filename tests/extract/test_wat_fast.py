"""The WAT fast path (msgspec, only the fields used) equals the general one (full JSON parse)."""

from __future__ import annotations

import json

import pytest

from metacurate.extract.pairs import PageImages
from metacurate.extract.scanner import utf8_valid
from metacurate.extract.wat import WatFormatError, _read_wat_general, read_wat

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
]


def _view(result: object) -> object:
    if isinstance(result, Exception):
        return ("error", str(result))
    status, page_url, page = result  # type: ignore[misc]
    if page is None:
        return status, page_url, None
    assert isinstance(page, PageImages)
    return status, page_url, page.pairs, dict(page.counts)


def _run(fn, payload):  # type: ignore[no-untyped-def]
    try:
        return fn(payload)
    except WatFormatError as exc:
        return exc


@pytest.mark.parametrize("payload", CASES)
def test_fast_path_equals_general(payload: bytes) -> None:
    fast = _run(lambda p: read_wat(p, utf8_valid), payload)
    general = _run(_read_wat_general, payload)
    assert _view(fast) == _view(general)
    if any(f'"alt": "{t}"'.encode() in payload for t in ("esc", "slash", "dup2")) and (
        b"I\\u004Dg" not in payload
    ):
        assert general.page.pairs  # the escaped path and the last duplicate are read
