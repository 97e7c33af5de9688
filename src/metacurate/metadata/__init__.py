"""Metadata: the list of entry strings (entry id = position), its hash, building and the default."""

from metacurate.metadata.build import (
    BuildConfig,
    BuildResult,
    build_metadata,
    read_sources,
    sources_path_for,
    write_metadata,
)
from metacurate.metadata.default import (
    DEFAULT_METADATA_NAME,
    DEFAULT_METADATA_NOTE,
    as_metadata,
    load_default_metadata,
    load_default_sources,
    load_metadata,
    resolve_metadata,
)
from metacurate.metadata.info import describe_metadata, diff_metadata, unmatchable_reason
from metacurate.metadata.load import Metadata, metadata_hash

__all__ = [
    "DEFAULT_METADATA_NAME",
    "DEFAULT_METADATA_NOTE",
    "BuildConfig",
    "BuildResult",
    "Metadata",
    "as_metadata",
    "build_metadata",
    "describe_metadata",
    "diff_metadata",
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
