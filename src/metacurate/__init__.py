"""metacurate: MetaCLIP-style curation of image-text pools.

The public API: ``Metadata`` / ``load_metadata``, ``Matcher`` / ``spacing``, the stages
``match_pool``, ``balance_workdir`` and ``curate``, and the run config they all take
(``RunConfig`` with its ``MatchConfig``, ``BalanceConfig`` and ``EngineConfig`` parts).
"""

from metacurate._version import __version__
from metacurate.api import balance_workdir, curate, match_pool
from metacurate.config import BalanceConfig, EngineConfig, MatchConfig, RunConfig
from metacurate.errors import MetacurateError
from metacurate.match import Matcher, spacing
from metacurate.metadata import Metadata, load_metadata

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
