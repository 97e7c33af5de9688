"""Metadata: the list of entry strings (entry id = position) and its content hash."""

from metacurate.metadata.load import Metadata, load_metadata, metadata_hash

__all__ = ["Metadata", "load_metadata", "metadata_hash"]
