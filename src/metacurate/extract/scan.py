"""A streaming `<img>` / `<base href>` scan that follows the HTML tokenizer, without a DOM.

:func:`scan_html_python` (and its compiled twin, metacurate.kernel.htmlscan; :mod:`.scanner`
picks one) returns what the DOM reference (`html.image_pairs_from_html`) reads, taken straight
from the bytes: the number of `<img>` elements in the document, the raw attribute
values (`src`, `alt`, `title`, `data-image-title`) of those with a non-empty text attribute, and
the raw `href` of the first `<base href>`. Values are raw bytes: character references and CR
line ends are resolved later (:mod:`metacurate.extract.attrs`), so the caller may decode them in
the page's charset. Where a page holds a construct whose effect on the tree needs a real tree
builder, the scan returns ``None`` and the caller parses the page with the DOM.

What it follows (HTML standard, tokenization and the parts of tree construction that change the
tokenizer's state or which elements end up in the document):

- comments (`<!-- ... -->`, `--!>`, `<!-->`, `<!--->`), bogus comments (`<?...>`, `<!x...>`,
  `</1...>`), DOCTYPE (ends at the first `>`), CDATA sections inside `<svg>` / `<math>` only;
- tags: names and attribute names lower-cased (ASCII), quoted/unquoted values, attributes
  without value, `/` between attributes, duplicate attributes (the first wins), a tag cut by the
  end of the input is dropped;
- raw text: `<title>` / `<textarea>` (RCDATA), `<style>`, `<xmp>`, `<iframe>`, `<noembed>`,
  `<noframes>` (RAWTEXT), `<script>` with its escaped and double-escaped states, `<plaintext>`;
  `<noscript>` is parsed as markup (the reference parses with scripting disabled);
- `<template>` content is not part of the document (its images and base are not counted);
- `<image>` is an `<img>`; `<svg>` / `<math>` content is foreign: no raw text there, CDATA
  sections are recognised, and the scan gives up (``None``) on any start tag that would leave
  foreign content (`img`, `div`, `p`, ... and `font`), on a `<base>` there, on a start tag inside
  an integration point (`foreignObject`, `desc`, `title`, `mi`, ..., `annotation-xml`) and on an
  end tag matching no open foreign element;
- tables: an `<img>` or `<base>` inside a table but outside a cell or caption would be moved in
  front of the table (foster parenting), which changes the order: ``None``;
- `<frameset>`, NUL bytes, ESC bytes (ISO-2022), `~{` (HZ) and UTF-16 byte-order marks: ``None``.
"""

from __future__ import annotations

__all__ = ["ScanResult", "scan_html_python"]

#: (images in the document, [(src, alt, title, data-image-title) raw bytes or None], base href,
#: whether one of those values has a non-ASCII byte)
ScanResult = tuple[int, list[tuple[bytes | None, ...]], bytes | None, bool]

_WS = b" \t\n\f\r"
_RCDATA_RAWTEXT = frozenset(
    (b"title", b"textarea", b"style", b"xmp", b"iframe", b"noembed", b"noframes")
)
_BREAKOUT = frozenset(
    b"b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i img "
    b"li listing menu meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul "
    b"var font base".split()
)
_INTEGRATION = {
    1: frozenset((b"foreignobject", b"desc", b"title")),
    2: frozenset((b"mi", b"mo", b"mn", b"ms", b"mtext", b"annotation-xml")),
}
_CELL = frozenset((b"td", b"th", b"caption"))
_ROW_PARTS = frozenset((b"tr", b"tbody", b"thead", b"tfoot", b"col", b"colgroup"))
_END_ROW_PARTS = frozenset((b"td", b"th", b"caption", b"tr", b"tbody", b"thead", b"tfoot"))
_WANTED = (b"src", b"alt", b"title", b"data-image-title", b"href")
_MAX_DEPTH = 512


class _Bail(Exception):
    """The page needs a tree builder: the caller uses the DOM."""


class _Eof(Exception):
    """The input ended inside a construct: nothing after it is markup."""


def _parse_tag(d: bytes, i: int) -> tuple[bytes, dict[bytes, bytes], bool, int]:
    """The tag whose name starts at ``d[i]``: (lower-case name, wanted attributes, self-closing,
    position after its ``>``). Raises :class:`_Eof` when the input ends inside it."""
    n = len(d)
    j = i
    while j < n and d[j] not in b" \t\n\f\r/>":
        j += 1
    name = d[i:j].lower()
    attrs: dict[bytes, bytes] = {}
    while True:
        while j < n and d[j] in _WS:
            j += 1
        if j >= n:
            raise _Eof
        c = d[j]
        if c == 0x2F:  # '/': self-closing start tag state
            j += 1
            if j >= n:
                raise _Eof
            if d[j] == 0x3E:
                return name, attrs, True, j + 1
            continue
        if c == 0x3E:
            return name, attrs, False, j + 1
        k = j + 1 if c == 0x3D else j  # a name may start with '='
        while k < n and d[k] not in b" \t\n\f\r/>=":
            k += 1
        attr = d[j:k].lower()
        j = k
        while j < n and d[j] in _WS:
            j += 1
        if j >= n:
            raise _Eof
        value = b""
        if d[j] == 0x3D:  # '=': before attribute value
            j += 1
            while j < n and d[j] in _WS:
                j += 1
            if j >= n:
                raise _Eof
            q = d[j]
            if q in (0x22, 0x27):
                end = d.find(bytes((q,)), j + 1)
                if end < 0:
                    raise _Eof
                value, j = d[j + 1 : end], end + 1
            elif q != 0x3E:
                k = j
                while k < n and d[k] not in b" \t\n\f\r>":
                    k += 1
                if k >= n:
                    raise _Eof
                value, j = d[j:k], k
        if attr in _WANTED and attr not in attrs:
            attrs[attr] = value


def _delimited(d: bytes, i: int, name: bytes) -> bool:
    """Whether ``d[i:]`` starts with ``name`` (ASCII case-insensitive) and then a tag delimiter."""
    end = i + len(name)
    return end < len(d) and d[i:end].lower() == name and d[end] in b" \t\n\f\r/>"


def _skip_raw(d: bytes, pos: int, name: bytes) -> int:
    """Past the end tag that closes RCDATA/RAWTEXT element ``name`` (content from ``pos``)."""
    while True:
        i = d.find(b"</", pos)
        if i < 0:
            raise _Eof
        if _delimited(d, i + 2, name):
            return _parse_tag(d, i + 2)[3]
        pos = i + 2


def _alpha_run(d: bytes, i: int) -> int:
    n = len(d)
    while i < n and (0x41 <= d[i] <= 0x5A or 0x61 <= d[i] <= 0x7A):
        i += 1
    return i


def _skip_script(d: bytes, pos: int) -> int:
    """Past the `</script>` that ends script data from ``pos`` (escaped states included)."""
    n = len(d)
    i = pos
    while True:  # script data
        j = d.find(b"<", i)
        if j < 0 or j + 1 >= n:
            raise _Eof
        c = d[j + 1]
        if c == 0x2F:
            if _delimited(d, j + 2, b"script"):
                return _parse_tag(d, j + 2)[3]
            i = j + 2
        elif c == 0x21 and d[j + 2 : j + 4] == b"--":
            i = _skip_escaped(d, j + 4)
            if i < 0:
                return -i
        else:
            i = j + 1


def _skip_escaped(d: bytes, i: int) -> int:
    """Script data escaped states, entered in 'escaped dash dash' at ``i``. Returns the position
    to go on in script data, or -(position after `</script>`) when the script ended."""
    n = len(d)
    state = "dd"  # e (escaped), d (dash), dd (dash dash); D.. the same, double escaped
    while i < n:
        c = d[i]
        double = state[0] == "D"
        if c == 0x2D:
            state = ("D" if double else "") + ("d" if state in ("e", "De") else "dd")
            i += 1
        elif c == 0x3E and state in ("dd", "Ddd"):
            return i + 1
        elif c == 0x3C:
            i += 1
            if i >= n:
                break
            if not double:
                if d[i] == 0x2F:
                    if _delimited(d, i + 1, b"script"):
                        return -_parse_tag(d, i + 1)[3]
                    i += 1
                    state = "e"
                else:
                    end = _alpha_run(d, i)
                    state = "e"
                    if end > i and end < n and d[end] in b" \t\n\f\r/>":
                        if d[i:end].lower() == b"script":
                            state = "De"
                        end += 1
                    i = end
            else:
                state = "De"
                if d[i] == 0x2F:
                    end = _alpha_run(d, i + 1)
                    if end < n and d[end] in b" \t\n\f\r/>":
                        if d[i + 1 : end].lower() == b"script":
                            state = "e"
                        end += 1
                    i = end
        else:
            state = "De" if double else "e"
            i += 1
    raise _Eof


def _skip_markup(d: bytes, p: int, foreign: bool) -> int:
    """Past a comment, DOCTYPE, CDATA section or bogus comment; ``p`` is just after `<!`."""
    if d[p : p + 2] == b"--":
        q = p + 2
        if d[q : q + 1] == b">":
            return q + 1
        if d[q : q + 2] == b"->":
            return q + 2
        while True:
            k = d.find(b"--", q)
            if k < 0:
                raise _Eof
            if d[k + 2 : k + 3] == b">":
                return k + 3
            if d[k + 2 : k + 4] == b"!>":
                return k + 4
            q = k + 1
    if foreign and d[p : p + 7] == b"[CDATA[":
        k = d.find(b"]]>", p + 7)
        if k < 0:
            raise _Eof
        return k + 3
    return _skip_bogus(d, p)


def _skip_bogus(d: bytes, p: int) -> int:
    """Past a bogus comment or DOCTYPE: both end at the first `>` from ``p``."""
    k = d.find(b">", p)
    if k < 0:
        raise _Eof
    return k + 1


def scan_html_python(data: bytes) -> ScanResult | None:
    """The scan in pure Python (the reference for the compiled one, metacurate.kernel.htmlscan)."""
    if any(b in data for b in (b"\x00", b"\x1b", b"~{")) or data[:2] in (b"\xfe\xff", b"\xff\xfe"):
        return None
    state = _State()
    try:
        state.run(data)
    except _Eof:
        pass
    except _Bail:
        return None
    values = [v for img in state.found for v in img if v is not None]
    if state.base is not None:
        values.append(state.base)
    return state.images, state.found, state.base, not all(v.isascii() for v in values)


class _State:
    def __init__(self) -> None:
        self.images = 0
        self.found: list[tuple[bytes | None, ...]] = []
        self.base: bytes | None = None
        self.has_base = False
        self.foreign: list[tuple[int, bool, bytes]] = []  # (1 svg / 2 math, integration, name)
        self.template = 0
        self.tables: list[bool] = []  # per open table: inside a cell or caption

    def run(self, d: bytes) -> None:
        n = len(d)
        pos = 0
        while True:
            lt = d.find(b"<", pos)
            if lt < 0 or lt + 1 >= n:
                return
            p = lt + 1
            c = d[p]
            if c == 0x21:  # '!'
                pos = _skip_markup(d, p + 1, bool(self.foreign))
            elif c == 0x2F:  # '/'
                if p + 1 >= n:
                    return
                c2 = d[p + 1]
                if 0x41 <= c2 <= 0x5A or 0x61 <= c2 <= 0x7A:
                    name, _, _, pos = _parse_tag(d, p + 1)
                    self.end_tag(name)
                elif c2 == 0x3E:
                    pos = p + 2
                else:
                    pos = _skip_bogus(d, p + 1)
            elif c == 0x3F:  # '?'
                pos = _skip_bogus(d, p)
            elif 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A:
                name, attrs, closed, pos = _parse_tag(d, p)
                pos = self.start_tag(d, name, attrs, closed, pos)
            else:
                pos = p

    def start_tag(self, d: bytes, name: bytes, attrs: dict, closed: bool, pos: int) -> int:
        foreign = self.foreign
        if foreign:
            ns, integration, _ = foreign[-1]
            if integration or name in _BREAKOUT:
                raise _Bail
            if not closed:
                self._push(ns, name)
            return pos
        if name in (b"img", b"image"):
            if self.template:
                return pos
            if self.tables and not self.tables[-1]:
                raise _Bail
            self.images += 1
            texts = [attrs.get(a) for a in (b"alt", b"title", b"data-image-title")]
            if any(texts):
                self.found.append((attrs.get(b"src"), *texts))
        elif name == b"base":
            if self.template:
                return pos
            if self.tables and not self.tables[-1]:
                raise _Bail
            if not self.has_base and b"href" in attrs:
                self.base, self.has_base = attrs[b"href"], True
        elif name in (b"svg", b"math"):
            if not closed:
                self._push(1 if name == b"svg" else 2, name)
        elif name == b"template":
            self.template += 1
        elif name in _RCDATA_RAWTEXT:
            return _skip_raw(d, pos, name)
        elif name == b"script":
            return _skip_script(d, pos)
        elif name == b"plaintext":
            raise _Eof
        elif name == b"frameset":
            raise _Bail
        elif self.template == 0:
            self._table_start(name)
        return pos

    def _push(self, ns: int, name: bytes) -> None:
        if len(self.foreign) >= _MAX_DEPTH:
            raise _Bail
        self.foreign.append((ns, name in _INTEGRATION[ns], name))

    def _table_start(self, name: bytes) -> None:
        tables = self.tables
        if name == b"table":
            if tables and not tables[-1]:
                tables.pop()
            if len(tables) >= _MAX_DEPTH:
                raise _Bail
            tables.append(False)
        elif tables and name in _CELL:
            tables[-1] = True
        elif tables and name in _ROW_PARTS:
            tables[-1] = False

    def end_tag(self, name: bytes) -> None:
        foreign = self.foreign
        if foreign:
            for k in range(len(foreign) - 1, -1, -1):
                if foreign[k][2] == name:
                    del foreign[k:]
                    return
            raise _Bail
        if name == b"template":
            if self.template:
                self.template -= 1
            return
        if self.template or not self.tables:
            return
        if name == b"table":
            self.tables.pop()
        elif name in _END_ROW_PARTS:
            self.tables[-1] = False
