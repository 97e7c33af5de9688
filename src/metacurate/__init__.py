"""metacurate: MetaCLIP-style curation of image-text pools.

The public API: ``Metadata`` / ``load_metadata``, ``Matcher`` / ``spacing``, the stages
``match_pool``, ``balance_workdir`` and ``curate``, and the run config they all take
(``RunConfig`` with its ``MatchConfig``, ``BalanceConfig`` and ``EngineConfig`` parts).

The names are imported on first use, so a worker process that imports one task module
(``metacurate.match.task``) does not load the drivers, the CLI or the report (measured:
docs/performance.md, worker start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from metacurate._version import __version__
from metacurate.errors import MetacurateError

_HOME = {
    "balance_workdir": "metacurate.api",
    "curate": "metacurate.api",
    "match_pool": "metacurate.api",
    "BalanceConfig": "metacurate.config",
    "EngineConfig": "metacurate.config",
    "MatchConfig": "metacurate.config",
    "RunConfig": "metacurate.config",
    "Matcher": "metacurate.match",
    "spacing": "metacurate.match",
    "Metadata": "metacurate.metadata",
    "load_metadata": "metacurate.metadata",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from metacurate.api import balance_workdir, curate, match_pool
    from metacurate.config import BalanceConfig, EngineConfig, MatchConfig, RunConfig
    from metacurate.match import Matcher, spacing
    from metacurate.metadata import Metadata, load_metadata


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'metacurate' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "BalanceConfig",
    "EngineConfig",
    "MatchConfig",
    "Matcher",
    "Metadata",
    "MetacurateError",
    "RunConfig",
    "__version__",
    "balance_workdir",
    "curate",
    "load_metadata",
    "match_pool",
    "spacing",
]
