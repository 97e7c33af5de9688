"""The Ray engine: the same task functions as Ray tasks, a bounded number in flight.

Plain tasks, not Ray Data actor pools: pools that take every CPU deadlock on small machines
(ray-project/ray#44687). Results (small dicts) come back to the driver, which sums them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TypeVar

from metacurate.engine.local import bounded_map
from metacurate.errors import MetacurateError

T = TypeVar("T")
R = TypeVar("R")


def _call(fn: Callable[[T], R], item: T) -> R:
    return fn(item)


class RayEngine:
    """Runs tasks on a Ray cluster: ``address`` if given, the one already initialised in this
    process, or a local one of ``workers`` CPUs started for this command (and shut down by
    ``close``). At most ``2 * workers`` tasks are in flight."""

    def __init__(
        self, workers: int, address: str | None, checkpoint: Callable[[str], None]
    ) -> None:
        try:
            import ray
        except ImportError:
            raise MetacurateError("--engine ray needs Ray: pip install 'metacurate[ray]'") from None
        self.ray = ray
        self.workers = max(1, workers)
        self.checkpoint = checkpoint
        self._started_here = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
            self._started_here = True
        self._remote = ray.remote(num_cpus=1, max_retries=2)(_call)

    def map(self, fn: Callable, items: Sequence[T]) -> Iterator[R]:
        """Yield ``fn(item, checkpoint)`` for every item, in completion order, as Ray tasks."""
        ray = self.ray
        fn_ref = ray.put(partial(fn, checkpoint=self.checkpoint))
        for ref in bounded_map(
            lambda item: self._remote.remote(fn_ref, item),
            lambda pending: _wait(ray, pending),
            items,
            2 * self.workers,
        ):
            try:
                yield ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(cause, MetacurateError):  # a user mistake, not a bug
                    raise MetacurateError(str(cause)) from None
                raise

    def close(self) -> None:
        if self._started_here:
            self.ray.shutdown()
            self._started_here = False


def _wait(ray, pending: set) -> tuple[set, set]:
    done, rest = ray.wait(list(pending), num_returns=1)
    return set(done), set(rest)
