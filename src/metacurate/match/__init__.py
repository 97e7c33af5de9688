"""Matching: ``spacing()``, the exact matcher (modes in ``MODES``) and uid hashing.

The names are imported on first use, so that a light module of this package
(``match.ahead``, which the CLI imports before anything heavy) does not load the matcher.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Light, and the submodule's name: imported now, so the attribute is the function.
from metacurate.match.spacing import WRAPPED, spacing

_HOME = {
    "MODES": "metacurate.match.matcher",
    "BatchMatches": "metacurate.match.matcher",
    "Matcher": "metacurate.match.matcher",
    "load_or_build": "metacurate.match.index_cache",
    "native_available": "metacurate.match.matcher",
    "pad": "metacurate.scripts",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from metacurate.match.index_cache import load_or_build
    from metacurate.match.matcher import MODES, BatchMatches, Matcher, native_available
    from metacurate.scripts import pad


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'metacurate.match' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)


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
