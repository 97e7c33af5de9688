"""Pairs of one HTML page from the streaming scan: raw attribute bytes → the strings the DOM
reference reads (charset, CR line ends, character references), then the shared pair rules.

The charset is the reference's (`html.html_encoding`, then resiliparse's `bytes_to_str`, which
decodes strictly with that charset, else UTF-8, else windows-1252, else the charset ignoring
errors). Every charset the scan accepts is ASCII-transparent at the byte level, so an all-ASCII
value reads the same under each of them and the charset is only worked out when a value the
page yields has a non-ASCII byte. Pages the scan cannot read exactly go to the DOM reference.
"""

from __future__ import annotations

import codecs
import re
from functools import cache
from html.entities import html5

from resiliparse.parse.encoding import map_encoding_to_html5

from metacurate.extract.html import html_encoding, image_pairs_from_html
from metacurate.extract.pairs import TEXT_SOURCES, PageImages, add_images, resolve_base
from metacurate.extract.scanner import (
    HAS_CHARSET,
    HAS_CP1252_HOLES,
    ScanKernel,
    decodes,
    scan_kernel,
)

__all__ = ["image_pairs_fast", "resolve_references"]

#: Charsets with one byte a character (their unassigned bytes are worked out when needed).
_SINGLE_BYTE = frozenset(
    codecs.lookup(name).name
    for name in ("ascii", "latin-1", "cp866", "koi8-r", "koi8-u", "mac-roman")
    + tuple(f"cp{n}" for n in range(1250, 1259))
    + tuple(f"iso8859-{n}" for n in (*range(2, 12), 13, 14, 15, 16))
)
#: Charsets whose bytes below 0x80 are always ASCII and never a part of a wider character, so
#: tokenizing the bytes is tokenizing the decoded text.
_SAFE = _SINGLE_BYTE | frozenset(
    codecs.lookup(name).name
    for name in ("utf-8", "gbk", "gb18030", "gb2312", "big5", "big5hkscs", "shift_jis", "cp932")
    + ("cp949", "euc_jp", "euc_kr")
)
_REFERENCE = re.compile(r"&(?:#[xX]([0-9a-fA-F]+);?|#([0-9]+);?|([A-Za-z0-9]+;?))")
_LONGEST_NAME = max(map(len, html5))
#: Numeric references to C1 controls read as windows-1252 (HTML standard, numeric reference end).
_C1 = dict(
    zip(
        (0x80, *range(0x82, 0x8D), 0x8E, *range(0x91, 0x9D), 0x9E, 0x9F),
        "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ",
        strict=True,
    )
)


@cache
def _unassigned(codec: str) -> tuple[bytes, ...]:
    """A single-byte charset's unassigned bytes, each as a bytes object (searched for in a page)."""
    return tuple(bytes((b,)) for b in range(256) if not decodes(bytes((b,)), codec))


def _reference(match: re.Match[str]) -> str:
    hexa, dec, name = match.groups()
    if name is None:
        cp = int(hexa, 16) if hexa is not None else int(dec)
        if cp == 0 or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
            return "\ufffd"
        return _C1.get(cp) or chr(cp)
    for k in range(min(len(name), _LONGEST_NAME), 0, -1):
        value = html5.get(name[:k])
        if value is None:
            continue
        if name[k - 1] != ";":  # legacy name without ';': kept as text before '=' or alnum
            after = name[k : k + 1] or match.string[match.end() : match.end() + 1]
            if after == "=" or after.isascii() and after.isalnum():
                return match.group(0)
        return value + name[k:]
    return match.group(0)


def resolve_references(value: str) -> str:
    """An attribute value as the tokenizer reads it: CR and CRLF → LF, then character references
    (named, decimal, hex) resolved by the attribute-value rules of the HTML standard."""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in value:
        value = _REFERENCE.sub(_reference, value)
    return value


class _Charset:
    """The codec that reads this page's values, worked out once and only if needed."""

    def __init__(self, body: bytes, http_charset: str | None, kernel: ScanKernel) -> None:
        self.body = body
        self.http_charset = http_charset
        self.kernel = kernel
        self.facts = kernel.facts(body)
        self._encoding: str | None | bool = False  # False: not worked out yet
        self._codec: str | None | bool = False  # None: only the DOM reads the page exactly
        self._utf8: bool | None = None

    def encoding(self) -> str | None:
        """The reference's charset as a codec name (None: not one Python knows)."""
        if self._encoding is False:
            try:
                self._encoding = codecs.lookup(html_encoding(self.body, self.http_charset)).name
            except LookupError:
                self._encoding = None
        return self._encoding  # type: ignore[return-value]

    def _strict(self, codec: str) -> bool:
        """Whether the whole page decodes with ``codec`` without an error."""
        if codec == "utf-8":
            if self._utf8 is None:
                self._utf8 = self.kernel.utf8_valid(self.body)
            return self._utf8
        if codec == "cp1252":
            return not self.facts & HAS_CP1252_HOLES
        if codec in _SINGLE_BYTE:
            if codec == "ascii":  # (its 128 unassigned bytes: all of 0x80-0xFF)
                return self.body.isascii()
            return not any(byte in self.body for byte in _unassigned(codec))  # (memchr each)
        return self.kernel.strict_decodes(self.body, codec)

    def codec(self) -> str | None:
        """The codec `bytes_to_str` decodes the page with (its charset, else UTF-8, else
        windows-1252, whichever first decodes it strictly) when the scan can read it."""
        if self._codec is False:
            enc = self.encoding()
            order = (enc, "utf-8", "cp1252") if enc in _SAFE else ()
            self._codec = next((c for c in order if self._strict(c)), None)
        return self._codec  # type: ignore[return-value]

    def ascii_is_safe(self) -> bool:
        """Whether all-ASCII values read the same as in the reference's decoded text: the page
        decodes strictly (an error-ignoring decode drops bytes, which can join a `<` to what
        follows) in a charset the scan can read."""
        http, facts = self.http_charset, self.facts
        declared = http and map_encoding_to_html5(http.strip().strip("\"'"), fallback_utf8=False)
        strict_fallback = not facts & HAS_CP1252_HOLES or self._strict("utf-8")
        # without a declared charset, detection picks an ASCII-compatible one for bytes without
        # NUL, ESC or `~{` (the scan refuses those); windows-1252 or UTF-8 then decodes strictly
        # when the page has none of windows-1252's five unassigned bytes or is valid UTF-8
        if not declared and not facts & HAS_CHARSET and strict_fallback:
            return True
        if self.encoding() not in _SAFE:
            return False
        return bool(strict_fallback) or self.codec() is not None


def image_pairs_fast(
    body: bytes,
    page_url: str | None,
    http_charset: str | None = None,
    kernel: ScanKernel | None = None,
) -> PageImages:
    """Equal to `html.image_pairs_from_html(body, page_url, http_charset)`, from the streaming
    scan when the page allows it (else from that DOM reference). ``kernel``: the scan functions
    to use (default :func:`scan_kernel`, chosen at each call)."""
    kernel = kernel or scan_kernel()
    found = kernel.scan(body)
    if found is None:
        return image_pairs_from_html(body, page_url, http_charset)
    images, imgs, base_raw, non_ascii = found
    charset = _Charset(body, http_charset, kernel)
    if non_ascii:
        codec = charset.codec()
        if codec is None:
            return image_pairs_from_html(body, page_url, http_charset)
    elif not charset.ascii_is_safe():
        return image_pairs_from_html(body, page_url, http_charset)
    else:
        codec = "ascii"
    page = PageImages()
    if images > len(imgs):  # the images without a text attribute
        page.counts["images_seen"] += images - len(imgs)
    if imgs:
        base = resolve_base(page_url, _text(base_raw, codec))
        values = [
            [
                # _text(raw, codec), an ASCII value without a reference or CR as it is inline
                raw.decode("ascii")
                if raw is not None and raw.isascii() and b"&" not in raw and b"\r" not in raw
                else _text(raw, codec)
                for raw in img
            ]
            for img in imgs
        ]
        add_images(page, values, TEXT_SOURCES, base)
    return page


def _text(raw: bytes | None, codec: str) -> str | None:
    if raw is None:
        return None
    if raw.isascii():
        value = raw.decode("ascii")
        if b"&" not in raw and b"\r" not in raw:  # (no reference, no CR: as it is)
            return value
        return resolve_references(value)
    return resolve_references(raw.decode(codec))
