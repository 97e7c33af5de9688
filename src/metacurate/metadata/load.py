"""Load metadata from MetaCLIP's ``metadata.json`` or a text file, and hash it.

The hash is the sha256 of a canonical encoding: the entries as a compact JSON list,
UTF-8, ``ensure_ascii=False``. It does not depend on the file's formatting, so the same
list written as ``.json``, ``.json.gz`` or ``.txt`` has the same hash.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc

from metacurate.errors import MetacurateError
from metacurate.storage import AnyPath, RemotePath, location


def canonical_json(entries: Sequence[str]) -> str:
    """The canonical encoding: a compact JSON list, ``ensure_ascii=False``."""
    return json.dumps(list(entries), ensure_ascii=False, separators=(",", ":"))


def metadata_hash(entries: Sequence[str]) -> str:
    """sha256 hex digest of the canonical encoding of ``entries``."""
    return hashlib.sha256(canonical_json(entries).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Metadata:
    """An ordered list of entries; ``entries[i]`` is entry id ``i``."""

    entries: tuple[str, ...]
    name: str = "<memory>"
    hash: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.hash:  # the encoding is kept: a run writes it as its metadata.json copy
            text = canonical_json(self.entries)
            object.__setattr__(self, "_canonical", text)
            object.__setattr__(self, "hash", hashlib.sha256(text.encode("utf-8")).hexdigest())

    def canonical_json(self) -> str:
        """The canonical encoding (the hashed text; what ``metadata.json`` copies hold)."""
        return self.__dict__.get("_canonical") or canonical_json(self.entries)

    @classmethod
    def from_list(cls, entries: Sequence[str], name: str = "<memory>") -> Metadata:
        """Validate and wrap a list of strings."""
        _check_entries(entries, name)
        return cls(tuple(entries), name=name)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, entry_id: int) -> str:
        return self.entries[entry_id]

    @property
    def short_hash(self) -> str:
        return self.hash[:12]


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


def _open_text(path: AnyPath) -> IO[str]:
    if isinstance(path, RemotePath):  # an object store: read it whole (metadata is small)
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"  # by content: a gzip file named .json is read too
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _edged(entries: Sequence[str]) -> list[str]:
    """The entries that start or end with a space (in Arrow: ~20x the Python loop)."""
    try:
        arr = pa.array(entries, type=pa.string())
    except (UnicodeEncodeError, pa.ArrowException):  # e.g. a lone surrogate from JSON
        return [e for e in entries if e != e.strip(" ")]
    at_edge = pc.or_(pc.starts_with(arr, " "), pc.ends_with(arr, " "))
    return arr.filter(at_edge).to_pylist() if pc.any(at_edge).as_py() else []


def _check_hygiene(entries: Sequence[str], where: str) -> None:
    """Refuse an empty list; warn about what rarely means what it says."""
    if not entries:
        raise MetacurateError(
            f"{where}: the metadata has no entries; nothing could ever match. Pass a list of "
            "concept strings (MetaCLIP's metadata.json has ~500k)"
        )
    dupes = len(entries) - len(set(entries))
    if dupes:
        warnings.warn(
            f"{where}: {dupes:,} duplicate entries (each id still matches on its own, and "
            "counts are per id)",
            MetadataWarning,
            stacklevel=3,
        )
    edged = _edged(entries)
    if edged:
        warnings.warn(
            f"{where}: {len(edged):,} entries start or end with a space (e.g. {edged[0]!r}); "
            "they only match where the caption has two spaces in a row",
            MetadataWarning,
            stacklevel=3,
        )


def load_metadata(path: str | Path | RemotePath) -> Metadata:
    """Read metadata from ``.json`` (a JSON list of strings) or a text file.

    Text files hold one entry per line; only the line ending (``\\n`` or ``\\r\\n``) is
    removed, so spaces are kept and a blank line is an empty entry at that id. A final
    newline does not add an entry. ``.gz`` variants of both are accepted.
    """
    p = location(path)
    if not p.exists():
        raise MetacurateError(f"metadata file not found: {p}")
    name = p.name
    stem_suffix = Path(p.stem).suffix if p.suffix == ".gz" else p.suffix
    if stem_suffix.lower() in _NOT_METADATA:
        raise MetacurateError(
            f"{p}: {stem_suffix} is not a metadata format; pass a .json file (a JSON list of "
            "strings, like MetaCLIP's metadata.json) or a .txt file (one entry per line)"
        )
    try:
        with _open_text(p) as f:
            if stem_suffix == ".json":
                try:
                    entries = json.loads(f.read().removeprefix("\ufeff"))
                except json.JSONDecodeError as exc:
                    raise MetacurateError(
                        f"{p}: not valid JSON ({exc}); expected a JSON list of strings"
                    ) from None
            else:
                text = f.read()
                if text.startswith("\ufeff"):
                    warnings.warn(
                        f"{p}: starts with a UTF-8 byte-order mark; removed (it is not part "
                        "of the first entry)",
                        MetadataWarning,
                        stacklevel=2,
                    )
                    text = text[1:]
                if text.endswith("\n"):
                    text = text[:-1]
                lines = text.split("\n") if text else []
                entries = [line[:-1] if line.endswith("\r") else line for line in lines]
    except UnicodeDecodeError as exc:
        raise MetacurateError(f"{p}: not UTF-8 text ({exc}); save the metadata as UTF-8") from None
    except (OSError, EOFError) as exc:
        raise MetacurateError(f"{p}: cannot read metadata ({exc})") from None
    _check_entries(entries, str(p))
    _check_hygiene(entries, str(p))
    return Metadata(tuple(entries), name=name)
