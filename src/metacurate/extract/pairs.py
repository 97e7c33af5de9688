"""What one page yields: image URL + text pairs, and the shared URL/text rules for HTML and WAT."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

#: Image attributes that carry a caption, in the order rows are emitted for one image.
TEXT_SOURCES: tuple[str, ...] = ("alt", "title", "data-image-title")

_WHITESPACE = str.maketrans({"\n": " ", "\r": " ", "\t": " "})
_URL_WHITESPACE = str.maketrans({"\n": None, "\r": None, "\t": None})


class ImagePair(NamedTuple):
    """One candidate row: absolute image URL, normalised text and the attribute it came from."""

    url: str
    text: str
    text_source: str


@dataclass
class PageImages:
    """Pairs found on one page plus the counters that explain what was dropped and why.

    `counts` keys: images_seen, with_text, relative_urls_resolved and `dropped_<reason>`
    (empty_src, data_uri, non_http_scheme, unresolvable_relative, bad_url).
    """

    pairs: list[ImagePair] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=lambda: _new_counter(Counter))


#: an empty Counter without Counter.__init__ (a Python-level call to update(), several times
#: slower, on every page); the same object as Counter() otherwise
_new_counter = dict.__new__


def resolve_base(page_url: str | None, base_href: str | None) -> str | None:
    """What relative `src` values resolve against: `<base href>` (resolved), else the page URL."""
    if base_href:
        href = base_href.strip().translate(_URL_WHITESPACE)
        if href:
            try:
                base = urljoin(page_url or "", href)
            except ValueError:
                base = ""
            if urlsplit(base).scheme in ("http", "https"):
                return base
    return page_url or None


#: an ASCII scheme: a letter, then letters, digits, `+`, `-` or `.` up to the first `:`
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+\-.]*):").match


def url_scheme(url: str) -> str:
    """``urlsplit(url).scheme.lower()`` for a stripped URL without tab/CR/LF; raises ValueError
    where urlsplit does. Skips urlsplit's work for plain ASCII URLs without brackets."""
    if not url.isascii() or "[" in url or "]" in url or url[:1] <= " ":
        return urlsplit(url).scheme.lower()
    match = _SCHEME(url)
    return match[1].lower() if match is not None else ""


class Resolver:
    """``urljoin(base, src)`` for one page's base, with the common relative forms (`/path`,
    `//host/path`: ASCII, no `?`, `#`, `;`, brackets or dot segments) done by concatenation,
    which is what urljoin returns for them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http: bool | None = None  # worked out at the first join (many pages have none)

    def _split(self) -> None:
        base = self.base
        try:
            parts = urlsplit(base) if base.isascii() else None
        except ValueError:  # urljoin raises it again for each source
            parts = None
        scheme = parts.scheme if parts is not None else ""
        self.http = scheme in ("http", "https")
        self.prefix = f"{scheme}://{parts.netloc}" if parts is not None and parts.netloc else None
        self.scheme = scheme

    def join(self, src: str) -> str:
        """urljoin(base, src); raises ValueError where urljoin does."""
        if self.http is None:
            self._split()
        if self.http and src.isascii() and "/." not in src and not any(c in src for c in "?#;[]"):
            if src[:2] == "//" and src[2:3] not in ("", "/"):
                return f"{self.scheme}:{src}"
            if src[:1] == "/" and src[1:2] != "/" and self.prefix is not None:
                return self.prefix + src
        return urljoin(self.base, src)


def add_image(
    page: PageImages,
    src: str | None,
    texts: list[tuple[str, str | None]],
    base: str | Resolver | None,
) -> None:
    """Record one `<img>` (or WAT `IMG@/src` link): resolve `src`, keep its non-empty texts.
    ``base``: the URL relative sources resolve against, or a :class:`Resolver` for it.
    (:func:`add_images` for one image: the rules live there.)"""
    add_images(page, [(src, *(raw for _, raw in texts))], [name for name, _ in texts], base)


_new_pair = tuple.__new__  # ImagePair(url, text, source) without its Python-level __new__
_HTTP = ("http://", "https://")


def add_images(
    page: PageImages,
    images: Iterable[Sequence[str | None]],
    names: Sequence[str],
    base: str | Resolver | None,
) -> None:
    """Record each image in order: an image is ``(src, text, ...)`` with its texts named by
    ``names``. Its texts are normalized (tab, CR, LF to spaces, then stripped) and the empty
    ones dropped; an image with a text gives one pair per text if its `src` (tab/CR/LF
    removed) is an http(s) URL, or resolves to one against ``base``; otherwise a ``dropped_*``
    counter says why. The counters are added once at the end, only those that are not zero."""
    pairs = page.pairs
    seen = with_text = resolved = 0
    dropped: Counter[str] = Counter()
    resolver = base if isinstance(base, Resolver) or not base else None
    for image in images:
        seen += 1
        kept = []
        for source, raw in zip(names, image[1:], strict=True):  # (normalized in line: the hot loop)
            if raw:
                if "\n" in raw or "\r" in raw or "\t" in raw:
                    raw = raw.translate(_WHITESPACE)
                raw = raw.strip()
                if raw:
                    kept.append((source, raw))
        if not kept:
            continue
        with_text += 1
        src = (image[0] or "").strip()
        if "\n" in src or "\r" in src or "\t" in src:
            src = src.translate(_URL_WHITESPACE)
        if src.startswith(_HTTP) and src.isascii() and "[" not in src and "]" not in src:
            for source, text in kept:  # (url_scheme(src) is http or https: kept as it is)
                pairs.append(_new_pair(ImagePair, (src, text, source)))
            continue
        if not src:
            dropped["empty_src"] += 1
            continue
        try:
            scheme = url_scheme(src)
        except ValueError:
            dropped["bad_url"] += 1
            continue
        if scheme == "data":
            dropped["data_uri"] += 1
            continue
        if scheme:
            if scheme not in ("http", "https"):
                dropped["non_http_scheme"] += 1
                continue
            url = src
        else:
            if not base:
                dropped["unresolvable_relative"] += 1
                continue
            if resolver is None:
                resolver = Resolver(base)  # type: ignore[arg-type]
            try:
                url = resolver.join(src)
            except ValueError:
                dropped["bad_url"] += 1
                continue
            if not resolver.http and urlsplit(url).scheme not in ("http", "https"):
                dropped["non_http_scheme"] += 1
                continue
            resolved += 1
        for source, text in kept:
            pairs.append(_new_pair(ImagePair, (url, text, source)))
    counts = page.counts
    for key, value in (
        ("images_seen", seen),
        ("with_text", with_text),
        ("relative_urls_resolved", resolved),
    ):
        if value:
            counts[key] += value
    for reason, value in dropped.items():
        counts[f"dropped_{reason}"] += value
