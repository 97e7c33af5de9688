"""The metadata loaded and its matcher index readied (checked, or built) in a thread that the
CLI starts before its own imports, so that the two overlap: reading files, the sha256 of the
index tables and the kernel's ``validate`` release the GIL, the imports (~0.2 s) hold it.

Light to import (the heavy modules are imported in the thread). The thread is joined before
the run goes on, so no thread is alive when the local engine forks its workers. An error in
the thread is raised by :meth:`Ahead.result`, where the run would have raised it itself.

While it waits for the thread, the run's own thread imports what it needs only later
(``later``: the report's modules, ``numpy.ma``, which pyarrow imports on its first
``pa.array`` of a numpy array): that thread's work releases the GIL, and the local engine
forks its workers afterwards, so they have them too (~0.03 s each, in the driver and in a
worker, otherwise paid on the way).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metacurate.config import RunConfig
    from metacurate.match.matcher import Matcher
    from metacurate.metadata.load import Metadata


def can_go_ahead(config: RunConfig) -> bool:
    """True for runs whose metadata is one list (mode metaclip1; metaclip2 modes load one
    list per language and ready their indexes in the match stage)."""
    return config.match.mode == "metaclip1"


class Ahead:
    """In a thread: the run's metadata (what loading its file found remembered in the cache
    folder), then its index in the cache folder, checked against its checksums or built
    (None without the compiled kernel)."""

    def __init__(self, config: RunConfig, later: Sequence[str] = ()) -> None:
        self._later = tuple(later)
        self._metadata: list[Metadata] = []
        self._index: list[Matcher | None] = []
        self._error: BaseException | None = None
        self._loaded = threading.Event()  # the metadata is there, or the thread has failed
        self._thread = threading.Thread(target=self._run, args=(config,), daemon=True)
        self._thread.start()

    def _run(self, config: RunConfig) -> None:
        try:
            from metacurate.kernel import native_available
            from metacurate.match.index_cache import cache_root, verified_index
            from metacurate.match.worldwide_run import run_metadata

            root = cache_root(config.engine.index_cache)
            metadata = run_metadata(config.match, root)
            self._metadata.append(metadata)
            self._loaded.set()
            mode = config.match.mode
            self._index.append(verified_index(metadata, root, mode) if native_available() else None)
        except BaseException as exc:  # raised again, in the caller's thread
            self._error = exc
        finally:
            self._loaded.set()

    def metadata(self) -> Metadata:
        """The metadata, as soon as it is loaded (the index may still be being checked)."""
        self._loaded.wait()
        if not self._metadata:
            self.index()  # the thread failed: its error
        return self._metadata[0]

    def index(self) -> Matcher | None:
        """Wait for the thread to end (importing the ``later`` modules meanwhile); the
        verified index, or the thread's error raised."""
        for name in self._later:
            importlib.import_module(name)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._index[0]
