"""Matching: ``spacing()``, the exact matcher (modes in ``MODES``) and uid hashing."""

from metacurate.match.index_cache import load_or_build
from metacurate.match.matcher import MODES, BatchMatches, Matcher, native_available
from metacurate.match.spacing import WRAPPED, spacing
from metacurate.scripts import pad

__all__ = [
    "MODES",
    "WRAPPED",
    "BatchMatches",
    "Matcher",
    "load_or_build",
    "native_available",
    "pad",
    "spacing",
]
