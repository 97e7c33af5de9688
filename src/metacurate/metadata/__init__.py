"""Metadata: the list of entry strings (entry id = position), its hash, building and the default.

The names are imported on first use, so that loading metadata does not import the builders
(WordNet, Wikipedia readers) and a run starts sooner.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_BUILD = "metacurate.metadata.build"
_DEFAULT = "metacurate.metadata.default"
_HOME = {
    "BuildConfig": _BUILD,
    "BuildResult": _BUILD,
    "build_metadata": _BUILD,
    "read_sources": _BUILD,
    "sources_path_for": _BUILD,
    "write_metadata": _BUILD,
    "BUILTIN_NOTE": _DEFAULT,
    "DEFAULT_METADATA_NAME": _DEFAULT,
    "DEFAULT_METADATA_NOTE": _DEFAULT,
    "as_metadata": _DEFAULT,
    "is_builtin": _DEFAULT,
    "load_default_metadata": _DEFAULT,
    "load_default_sources": _DEFAULT,
    "load_metadata": _DEFAULT,  # the one that also takes "default"
    "resolve_metadata": _DEFAULT,
    "describe_metadata": "metacurate.metadata.info",
    "diff_metadata": "metacurate.metadata.info",
    "unmatchable_reason": "metacurate.metadata.info",
    "Metadata": "metacurate.metadata.load",
    "metadata_hash": "metacurate.metadata.load",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from metacurate.metadata.build import (
        BuildConfig,
        BuildResult,
        build_metadata,
        read_sources,
        sources_path_for,
        write_metadata,
    )
    from metacurate.metadata.default import (
        BUILTIN_NOTE,
        DEFAULT_METADATA_NAME,
        DEFAULT_METADATA_NOTE,
        as_metadata,
        is_builtin,
        load_default_metadata,
        load_default_sources,
        load_metadata,
        resolve_metadata,
    )
    from metacurate.metadata.info import describe_metadata, diff_metadata, unmatchable_reason
    from metacurate.metadata.load import Metadata, metadata_hash


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'metacurate.metadata' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "BUILTIN_NOTE",
    "DEFAULT_METADATA_NAME",
    "DEFAULT_METADATA_NOTE",
    "BuildConfig",
    "BuildResult",
    "Metadata",
    "as_metadata",
    "build_metadata",
    "describe_metadata",
    "diff_metadata",
    "is_builtin",
    "load_default_metadata",
    "load_default_sources",
    "load_metadata",
    "metadata_hash",
    "read_sources",
    "resolve_metadata",
    "sources_path_for",
    "unmatchable_reason",
    "write_metadata",
]
