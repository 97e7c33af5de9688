"""The metadata loaded and its matcher index readied (checked, or built) in a thread that the
CLI starts before its own imports: the head start of engine/startup.py (step 3; the imports it
does "for later" while waiting are step 5). This module says what the thread loads.

Light to import (the heavy modules are imported in the thread). The thread is joined before
the run goes on, so no thread is alive when the local engine forks its workers. An error in
the thread is raised by :meth:`Ahead.metadata` or :meth:`Ahead.index`, where the run would
have raised it itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from metacurate.engine.startup import HeadStart

if TYPE_CHECKING:
    from metacurate.config import RunConfig
    from metacurate.match.matcher import Matcher
    from metacurate.metadata.load import Metadata


def can_go_ahead(config: RunConfig) -> bool:
    """True for runs whose metadata is one list (mode metaclip1; metaclip2 modes load one
    list per language and ready their indexes in the match stage)."""
    return config.match.mode == "metaclip1"


def _load(config: RunConfig, publish: Callable[[Any], None]) -> Matcher | None:
    """In the thread: the run's metadata (what loading its file found remembered in the cache
    folder), published; then its index in the cache folder, checked against its checksums or
    built (None without the compiled kernel)."""
    from metacurate.kernel import native_available
    from metacurate.match.index_cache import cache_root, verified_index
    from metacurate.metadata import as_metadata

    root = cache_root(config.engine.index_cache)
    metadata = as_metadata(config.match.metadata, root)
    publish(metadata)
    return verified_index(metadata, root, config.match.mode) if native_available() else None


class Ahead:
    """The run's metadata and its verified index, from a thread started now; ``later``: the
    modules to import while :meth:`index` waits for it."""

    def __init__(self, config: RunConfig, later: Sequence[str] = ()) -> None:
        self._start = HeadStart(partial(_load, config), later)

    def metadata(self) -> Metadata:
        """The metadata, as soon as it is loaded (the index may still be being checked)."""
        return self._start.early()

    def index(self) -> Matcher | None:
        """Wait for the thread to end (importing the ``later`` modules meanwhile); the
        verified index, or the thread's error raised."""
        return self._start.result()
