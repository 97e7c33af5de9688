"""Matching: ``spacing()``, the exact matcher (modes in ``MODES``) and uid hashing."""

from metacurate.match.matcher import MODES, BatchMatches, Matcher, load_or_build, native_available
from metacurate.match.scripts import pad
from metacurate.match.spacing import WRAPPED, spacing

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
