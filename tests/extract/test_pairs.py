"""`add_images` (one loop over a page's images, the only place of the pair rules) equals a
naive loop written from docs/extract.md's rules with `urllib.parse` alone; `add_image` is
`add_images` for one image."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metacurate.extract.pairs import (
    TEXT_SOURCES,
    ImagePair,
    PageImages,
    Resolver,
    add_image,
    add_images,
)

_SRC = st.sampled_from(
    [
        "http://x.org/a.png",
        "HTTPS://x.org/b.png",
        "/c.png",
        "//cdn.org/d.png",
        "e f.png",
        " \t../g.png\n",
        "data:image/png;base64,xx",
        "javascript:void(0)",
        "ftp://x.org/h.png",
        "http://[::1/i.png",
        "",
        "?q=1",
        "#frag",
        "\u00e9.png",
        "http://\u00e9.org/j.png",
        "https://x.org/]k.png",
        "http://\uff03x.org/l.png",
    ]
)
_TEXT = (
    st.none()
    | st.sampled_from(["", " ", "a cat", "\n\tb\r", "\u3000", "x\u2028y "])
    | st.text(max_size=6)
)
_BASE = st.sampled_from(
    [
        None,
        "",
        "http://ex.com/dir/page.html?q=1",
        "https://ex.com",
        "file:///x/",
        "about:blank",
        "http://[bad/",
    ]
)


def naive_pairs(images, base) -> tuple[list[tuple[str, str, str]], dict[str, int]]:
    """The pair rules, plainly: texts with tab/CR/LF as spaces, stripped, the empty ones
    dropped; `src` stripped and tab/CR/LF removed; kept if its scheme is http(s), or if it has
    none and joins with `base` to an http(s) URL."""
    pairs, counts = [], Counter()
    for src, *texts in images:
        counts["images_seen"] += 1
        kept = []
        for name, raw in zip(TEXT_SOURCES, texts, strict=True):
            text = (raw or "").replace("\n", " ").replace("\r", " ").replace("\t", " ").strip()
            if text:
                kept.append((name, text))
        if not kept:
            continue
        counts["with_text"] += 1
        src = (src or "").strip().replace("\n", "").replace("\r", "").replace("\t", "")
        if not src:
            counts["dropped_empty_src"] += 1
            continue
        try:
            scheme = urlsplit(src).scheme
        except ValueError:
            counts["dropped_bad_url"] += 1
            continue
        if scheme == "data":
            counts["dropped_data_uri"] += 1
            continue
        if scheme:
            if scheme not in ("http", "https"):
                counts["dropped_non_http_scheme"] += 1
                continue
            url = src
        else:
            if not base:
                counts["dropped_unresolvable_relative"] += 1
                continue
            try:
                url = urljoin(base, src)
            except ValueError:
                counts["dropped_bad_url"] += 1
                continue
            if urlsplit(url).scheme not in ("http", "https"):
                counts["dropped_non_http_scheme"] += 1
                continue
            counts["relative_urls_resolved"] += 1
        pairs += [(url, text, name) for name, text in kept]
    return pairs, dict(counts)


@settings(max_examples=300, deadline=None)
@given(
    images=st.lists(st.tuples(st.none() | _SRC, _TEXT, _TEXT, _TEXT), max_size=6),
    base=_BASE,
    as_resolver=st.booleans(),
)
def test_add_images_equals_the_naive_rules(images, base, as_resolver) -> None:
    page = PageImages()
    add_images(page, images, TEXT_SOURCES, Resolver(base) if as_resolver and base else base)
    assert ([tuple(p) for p in page.pairs], dict(page.counts)) == naive_pairs(images, base)
    assert all(type(p) is ImagePair for p in page.pairs)
    one = PageImages()  # add_image, one image at a time, gives the same
    for src, *texts in images:
        add_image(one, src, list(zip(TEXT_SOURCES, texts, strict=True)), base)
    assert one.pairs == page.pairs and dict(one.counts) == dict(page.counts)


_UID_TEXT = st.text(
    st.characters() | st.sampled_from(["\ud800", "\udfff", "\x00", "\u00e9"]), max_size=8
)


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(_UID_TEXT, _UID_TEXT), max_size=6))
def test_batch_uids_equal_uid_for(pairs) -> None:
    """The part's uids, hashed a batch at once (strict UTF-8 first), equal `uid_for` of each
    pair, lone surrogates included."""
    from metacurate.extract.task import _uids, uid_for

    urls = [u for u, _ in pairs]
    texts = [t for _, t in pairs]
    assert _uids(urls, texts) == [uid_for(u, t) for u, t in pairs]


_LONG = st.text(st.sampled_from("ab/\u00e9\u4e2d\U0001f600\x00 "), min_size=0, max_size=140)


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(_LONG, _LONG), min_size=1, max_size=6), portable=st.booleans())
def test_compiled_uids_equal_uid_for(pairs, portable) -> None:  # type: ignore[no-untyped-def]
    """The compiled SHA-256 (the x86 SHA extensions where the CPU has them, and the portable C)
    against hashlib through `uid_for`, over every padding case (UTF-8 lengths across the
    55/56/64-byte block edges); a lone surrogate hands the batch back (None)."""
    from metacurate.extract.task import uid_for
    from metacurate.kernel import calls

    if calls.pair_uids is None:
        pytest.skip("compiled kernel not built")
    urls = [u for u, _ in pairs]
    texts = [t for _, t in pairs]
    assert calls.pair_uids(urls, texts, portable) == [uid_for(u, t) for u, t in pairs]
    assert calls.pair_uids([*urls, "\ud800"], [*texts, "x"], portable) is None


def test_compiled_uids_every_message_length() -> None:
    """Every message length from 0 to 200 bytes (each padding case: the length field in the
    last block or in one more), both SHA-256 paths, against hashlib through `uid_for`."""
    from metacurate.extract.task import uid_for
    from metacurate.kernel import calls

    if calls.pair_uids is None:
        pytest.skip("compiled kernel not built")
    urls = ["u" * (n // 2) for n in range(200)]
    texts = ["t\u00e9"[: n % 2 + 1] * (n - n // 2) for n in range(200)]
    want = [uid_for(u, t) for u, t in zip(urls, texts, strict=True)]
    for portable in (False, True):
        assert calls.pair_uids(urls, texts, portable) == want
