"""Matching: ``spacing()``, the exact metaclip1 matcher and uid hashing."""

from metacurate.match.index_cache import load_or_build
from metacurate.match.matcher import BatchMatches, Matcher, native_available
from metacurate.match.spacing import WRAPPED, spacing

__all__ = ["WRAPPED", "BatchMatches", "Matcher", "load_or_build", "native_available", "spacing"]
