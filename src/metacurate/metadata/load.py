"""Load metadata from MetaCLIP's ``metadata.json`` or a text file, and hash it.

The hash is the sha256 of a canonical encoding: the entries as a compact JSON list,
UTF-8, ``ensure_ascii=False``. It does not depend on the file's formatting, so the same
list written as ``.json``, ``.json.gz`` or ``.txt`` has the same hash.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import warnings
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from metacurate.errors import MetacurateError
from metacurate.metadata.known import (
    Known,
    canonical_bytes,
    canonical_text,
    recall,
    recall_entries,
    remember,
)
from metacurate.storage import AnyPath, RemotePath, location


def canonical_json(entries: Sequence[str]) -> str:
    """The canonical encoding: a compact JSON list, ``ensure_ascii=False``."""
    return json.dumps(list(entries), ensure_ascii=False, separators=(",", ":"))


def metadata_hash(entries: Sequence[str]) -> str:
    """sha256 hex digest of the canonical encoding of ``entries``."""
    return hashlib.sha256(canonical_json(entries).encode("utf-8")).hexdigest()


class ArrowEntries(Sequence[str]):
    """Entries held as an Arrow string array (a remembered load: metadata/known.py), made
    Python strings only when first asked for; a curate run asks for none (500k entries: ~0.05
    s of parsing and ~0.03 s of ``pa.array`` saved). Equal to the tuple of its strings."""

    __slots__ = ("arrow", "_strings")

    def __init__(self, arrow: pa.Array) -> None:
        self.arrow = arrow
        self._strings: tuple[str, ...] | None = None

    def _all(self) -> tuple[str, ...]:
        if self._strings is None:
            self._strings = tuple(self.arrow.to_pylist())
        return self._strings

    def __len__(self) -> int:
        return len(self.arrow)

    def __getitem__(self, i):  # noqa: ANN001, ANN204 - an index or a slice, as a tuple takes
        return self._all()[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ArrowEntries):
            return self._all() == other._all()
        if isinstance(other, (tuple, list)):
            return self._all() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return f"ArrowEntries({len(self):,} entries)"

    def __reduce__(self) -> tuple:
        return (ArrowEntries, (self.arrow,))


@dataclass(frozen=True)
class Metadata:
    """An ordered list of entries; ``entries[i]`` is entry id ``i``."""

    entries: tuple[str, ...]
    name: str = "<memory>"
    hash: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.hash:  # the encoding is kept: a run writes it as its metadata.json copy
            text = canonical_json(self.entries)
            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError:
                raise _not_text(self.entries, self.name) from None
            object.__setattr__(self, "_canonical", text)
            object.__setattr__(self, "_canonical_bytes", data)
            object.__setattr__(self, "hash", hashlib.sha256(data).hexdigest())

    @classmethod
    def from_encoded(cls, entries: Sequence[str], name: str, data: bytes) -> Metadata:
        """``entries`` whose canonical encoding ``data`` is at hand: hashed, and kept for the
        run's ``metadata.json`` copy (no encoding again)."""
        md = cls(tuple(entries), name=name, hash=hashlib.sha256(data).hexdigest())
        object.__setattr__(md, "_canonical_bytes", data)
        return md

    @classmethod
    def concatenated(cls, parts: Sequence[Metadata], name: str) -> Metadata:
        """The lists of ``parts`` end to end. Its canonical encoding is theirs joined (a JSON
        list of lists' items), so it is hashed without encoding 1M+ entries again."""
        inner = [b[1:-1] for b in (m.canonical_bytes() for m in parts) if len(b) > 2]
        entries: list[str] = []
        for m in parts:
            entries += m.entries
        return cls.from_encoded(entries, name, b"[" + b",".join(inner) + b"]")

    def canonical_json(self) -> str:
        """The canonical encoding (the hashed text; what ``metadata.json`` copies hold)."""
        text = self.__dict__.get("_canonical")
        if text is None and "_known_root" in self.__dict__:  # kept by an earlier load
            text = canonical_text(self.__dict__["_known_root"], self.hash)
        return text or canonical_json(self.entries)

    def canonical_bytes(self) -> bytes:
        """:meth:`canonical_json` in UTF-8 (a remembered load: the kept file's bytes, checked
        by their sha256; no decoding and encoding again, ~0.06 s for 500k entries)."""
        data = self.__dict__.get("_canonical_bytes")
        if data is None and "_known_root" in self.__dict__:
            data = canonical_bytes(self.__dict__["_known_root"], self.hash)
        return data if data is not None else self.canonical_json().encode("utf-8")

    @classmethod
    def from_list(cls, entries: Sequence[str], name: str = "<memory>") -> Metadata:
        """Validate and wrap a list of strings."""
        _check_entries(entries, name)
        return cls(tuple(entries), name=name)

    def arrow(self) -> pa.Array:
        """The entries as an Arrow string array (a remembered load's own, else made once)."""
        if isinstance(self.entries, ArrowEntries):
            return self.entries.arrow
        arr = self.__dict__.get("_arrow")
        if arr is None:
            arr = pa.array(self.entries, type=pa.string())
            object.__setattr__(self, "_arrow", arr)
        return arr

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, entry_id: int) -> str:
        return self.entries[entry_id]

    @property
    def short_hash(self) -> str:
        return self.hash[:12]


def _not_text(entries: Sequence[str], where: str) -> MetacurateError:
    """The error for entries that are no text: a lone surrogate (JSON's ``"\\ud800"``)."""
    for i, e in enumerate(entries):
        try:
            e.encode("utf-8")
        except UnicodeEncodeError:
            return MetacurateError(
                f"{where}: entry {i} {e!r} holds a lone surrogate (a \\uD800-\\uDFFF escape "
                "without its pair), which is no text; fix or remove that entry"
            )
    return MetacurateError(f"{where}: the entries cannot be encoded as UTF-8")


def _check_entries(entries: object, where: str) -> None:
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Sequence):
        raise MetacurateError(
            f"{where}: metadata must be a JSON list of strings, got {type(entries).__name__}; "
            'MetaCLIP\'s metadata.json is a list such as ["dog", "cat", ...]'
        )
    if set(map(type, entries)) <= {str}:  # one pass in C; the loop below names the culprit
        return
    for i, e in enumerate(entries):
        if not isinstance(e, str):
            raise MetacurateError(
                f"{where}: entry {i} is {type(e).__name__} {e!r}, not a string; "
                "metadata must be a list of strings (entry id = position)"
            )


class MetadataWarning(UserWarning):
    """Metadata that loads but probably not as meant (BOM, duplicates, edge spaces)."""


#: Suffixes of formats that are not a list of entries; refused rather than read as text.
_NOT_METADATA = (".yaml", ".yml", ".jsonl", ".csv", ".tsv", ".parquet", ".tar", ".toml")


def _edged(entries: Sequence[str]) -> list[str]:
    """The entries that start or end with a space (in Arrow: ~20x the Python loop)."""
    try:
        arr = pa.array(entries, type=pa.string())
    except (UnicodeEncodeError, pa.ArrowException):  # e.g. a lone surrogate from JSON
        return [e for e in entries if e != e.strip(" ")]
    at_edge = pc.or_(pc.starts_with(arr, " "), pc.ends_with(arr, " "))
    return arr.filter(at_edge).to_pylist() if pc.any(at_edge).as_py() else []


def _hygiene(entries: Sequence[str], where: str) -> tuple[int, list[str]]:
    """Refuse an empty list; return the number of duplicates and the edge-space entries."""
    if not entries:
        raise MetacurateError(
            f"{where}: the metadata has no entries; nothing could ever match. Pass a list of "
            "concept strings (MetaCLIP's metadata.json has ~500k)"
        )
    return len(entries) - len(set(entries)), _edged(entries)


def _empty(entries: Sequence[str] | pa.Array) -> int:
    """How many entries are empty strings (blank lines of a text file)."""
    if isinstance(entries, pa.Array):
        return int(pc.sum(pc.equal(pc.binary_length(entries), 0)).as_py() or 0)
    return sum(1 for e in entries if not e)


def _warn_hygiene(
    where: str, dupes: int, edged: int, first_edged: str | None, empty: int = 0
) -> None:
    """Warn about what rarely means what it says (duplicates, edge spaces, empty entries)."""
    if empty:
        warnings.warn(
            f"{where}: {empty:,} empty entries (e.g. blank lines); each keeps its id, and an empty "
            "entry matches every caption with two spaces in a row: remove the blank lines "
            "unless that is meant",
            MetadataWarning,
            stacklevel=4,
        )
    if dupes:
        warnings.warn(
            f"{where}: {dupes:,} duplicate entries (each id still matches on its own, and "
            "counts are per id)",
            MetadataWarning,
            stacklevel=4,
        )
    if edged:
        warnings.warn(
            f"{where}: {edged:,} entries start or end with a space (e.g. {first_edged!r}); "
            "they only match where the caption has two spaces in a row",
            MetadataWarning,
            stacklevel=4,
        )


def _check_hygiene(entries: Sequence[str], where: str) -> None:
    """Refuse an empty list; warn about what rarely means what it says."""
    dupes, edged = _hygiene(entries, where)
    _warn_hygiene(where, dupes, len(edged), edged[0] if edged else None, _empty(entries))


def load_metadata(path: str | Path | RemotePath, cache: Path | None = None) -> Metadata:
    """Read metadata from ``.json`` (a JSON list of strings) or a text file.

    Text files hold one entry per line; only the line ending (``\\n`` or ``\\r\\n``) is
    removed, so spaces are kept and a blank line is an empty entry at that id. A final
    newline does not add an entry. ``.gz`` variants of both are accepted. With ``cache`` (a
    cache folder), what the checks and the hash found is remembered by the sha256 of the
    file's bytes and reused the next time (:mod:`metacurate.metadata.known`).
    """
    p = location(path)
    if not p.exists():
        raise MetacurateError(f"metadata file not found: {p}")
    name = p.name
    stem_suffix = name_suffix(name)
    if stem_suffix in _NOT_METADATA:
        raise MetacurateError(
            f"{p}: {stem_suffix} is not a metadata format; pass a .json file (a JSON list of "
            "strings, like MetaCLIP's metadata.json) or a .txt file (one entry per line)"
        )
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise MetacurateError(f"{p}: cannot read metadata ({exc})") from None
    kind = metadata_kind(stem_suffix, raw)
    source_sha256 = hashlib.sha256(raw).hexdigest() if cache is not None else ""
    known = recall(cache, source_sha256, kind) if cache is not None else None
    if known is not None and cache is not None:  # these very bytes were loaded before
        md = _recalled(known, name, str(p), cache)
        if md is not None:
            return md
    try:
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw  # gzip by content
        entries = _parse(data.decode("utf-8"), kind, p)
    except UnicodeDecodeError as exc:
        raise MetacurateError(f"{p}: not UTF-8 text ({exc}); save the metadata as UTF-8") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise MetacurateError(f"{p}: cannot read metadata ({exc})") from None
    _check_entries(entries, str(p))
    if cache is None:
        _check_hygiene(entries, str(p))
        return Metadata(tuple(entries), name=name)
    return _remembered(entries, name, str(p), source_sha256, kind, cache)


def name_suffix(name: str) -> str:
    """A metadata file's format suffix, lower case, without ``.gz`` or a download copy's
    number (``metadata.JSON``, ``metadata.json.1``, ``metadata (1).json.gz``: ``.json``)."""
    name = re.sub(r"(\.\d+|\s*\(\d+\))$", "", name.lower())
    name = name.removesuffix(".gz")
    name = re.sub(r"\s*\(\d+\)$", "", name)
    return Path(name).suffix


def metadata_kind(suffix: str, raw: bytes) -> str:
    """``json`` or ``text``: ``.json`` and ``.txt`` say it; any other name (none, ``.1``,
    ``.list``) by content: a JSON list starts with ``[``."""
    if suffix in (".json", ".txt"):
        return "json" if suffix == ".json" else "text"
    head = raw[:4096]
    if raw[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw[:65536], 4096)
        except zlib.error:
            return "text"
    return "json" if head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"[") else "text"


def _parse(text: str, kind: str, p: AnyPath) -> list:
    """The entries of a metadata file's text."""
    if kind == "json":
        try:
            return json.loads(text.removeprefix("\ufeff"))
        except json.JSONDecodeError as exc:
            raise MetacurateError(
                f"{p}: not valid JSON ({exc}); expected a JSON list of strings"
            ) from None
    if text.startswith("\ufeff"):
        warnings.warn(
            f"{p}: starts with a UTF-8 byte-order mark; removed (it is not part of the first "
            "entry)",
            MetadataWarning,
            stacklevel=3,
        )
        text = text[1:]
    if text.endswith("\n") or text.endswith("\r"):  # a final line end adds no entry
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    return _LINE_END.split(text) if text else []


#: A line ends with ``\r\n`` (Windows), ``\n`` or a lone ``\r`` (old Mac editors).
_LINE_END = re.compile(r"\r\n|\n|\r")


def _recalled(known: Known, name: str, where: str, cache: Path) -> Metadata | None:
    """The metadata of a record, its entries from their Arrow copy (no parsing); None when
    the copy is missing or does not check out."""
    arrow = recall_entries(cache, known)
    if arrow is None:
        return None
    _warn_hygiene(where, known.duplicates, known.edged, known.edged_first, _empty(arrow))
    md = Metadata(ArrowEntries(arrow), name=name, hash=known.hash)  # type: ignore[arg-type]
    object.__setattr__(md, "_known_root", cache)
    return md


def _remembered(
    entries: list, name: str, where: str, source_sha256: str, kind: str, cache: Path
) -> Metadata:
    """The metadata of parsed ``entries``, checked, and remembered in ``cache`` (record,
    Arrow copy when Arrow can hold the entries, canonical encoding)."""
    dupes, edged = _hygiene(entries, where)
    _warn_hygiene(where, dupes, len(edged), edged[0] if edged else None, _empty(entries))
    md = Metadata(tuple(entries), name=name)
    found = Known(source_sha256, kind, len(md), md.hash, dupes, len(edged), (edged or [None])[0])
    try:
        arrow = md.arrow()
    except pa.ArrowException:  # over 2 GiB of entries: no copy, parsed every time
        arrow = None
    remember(cache, found, md.canonical_json(), arrow)
    return md
