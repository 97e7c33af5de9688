"""The sources side file beside a metadata list: its path, and reading it back.

``<name>.sources.json[.gz]`` records which source(s) each entry came from and the parameters of
the build; :mod:`metacurate.metadata.build` writes it.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from metacurate.errors import MetacurateError
from metacurate.metadata.load import Metadata

SOURCES_FORMAT = "metacurate.metadata-sources"
SOURCES_FORMAT_VERSION = 1


def sources_path_for(metadata_path: str | Path) -> Path:
    """The side file beside a metadata file: ``m.json`` → ``m.sources.json``, ``.gz`` kept."""
    p = Path(metadata_path)
    gz = p.suffix == ".gz"
    stem = Path(p.stem) if gz else p
    base = stem.stem if stem.suffix in (".json", ".txt") else stem.name
    return p.with_name(base + ".sources.json" + (".gz" if gz else ""))


@dataclass(frozen=True)
class SourcesInfo:
    """A sources side file, read back."""

    path: Path
    metadata_hash: str
    source_names: tuple[str, ...]
    masks: tuple[int, ...]
    per_source: dict[str, dict[str, int]]
    params: dict[str, object]

    def first_source_counts(self) -> dict[str, int]:
        """Entries per source that first added them (sums to the number of entries)."""
        out = dict.fromkeys(self.source_names, 0)
        for m in self.masks:
            if m:
                out[self.source_names[(m & -m).bit_length() - 1]] += 1
        return out

    def sources_of(self, entry_id: int) -> list[str]:
        m = self.masks[entry_id]
        return [n for bit, n in enumerate(self.source_names) if m >> bit & 1]


def read_sources(path: str | Path) -> SourcesInfo:
    """Read a sources side file written by :func:`write_metadata`."""
    p = Path(path)
    try:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        doc = json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetacurateError(f"{p}: cannot read sources side file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != SOURCES_FORMAT:
        raise MetacurateError(
            f"{p}: not a metacurate sources side file (format {SOURCES_FORMAT!r} expected)"
        )
    if doc.get("format_version") != SOURCES_FORMAT_VERSION:
        raise MetacurateError(
            f"{p}: sources format version {doc.get('format_version')} is not supported "
            f"(this metacurate reads {SOURCES_FORMAT_VERSION}); rebuild it with this version"
        )
    return SourcesInfo(
        path=p,
        metadata_hash=str(doc["metadata_hash"]),
        source_names=tuple(doc["sources"]),
        masks=tuple(doc["masks"]),
        per_source=doc["per_source"],
        params=doc.get("params", {}),
    )


def find_sources_for(metadata_path: str | Path, metadata: Metadata) -> SourcesInfo | None:
    """The side file beside ``metadata_path`` if there is one and it describes this metadata."""
    side = sources_path_for(metadata_path)
    if not side.is_file():
        return None
    info = read_sources(side)
    if info.metadata_hash != metadata.hash or len(info.masks) != len(metadata):
        raise MetacurateError(
            f"{side}: sources side file describes metadata {info.metadata_hash[:12]}, but "
            f"{metadata_path} is {metadata.short_hash}; rebuild both or delete the side file"
        )
    return info
