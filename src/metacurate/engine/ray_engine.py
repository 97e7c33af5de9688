"""The Ray engine: the same task functions as Ray tasks, a bounded number in flight.

Plain tasks, not Ray Data actor pools: pools that take every CPU deadlock on small machines
(ray-project/ray#44687). Results (small dicts) come back to the driver, which sums them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from metacurate.errors import MetacurateError

T = TypeVar("T")
R = TypeVar("R")


def _call(fn: Callable[[T], R], item: T) -> R:
    return fn(item)


def run_ray(
    fn: Callable[[T], R], items: Sequence[T], workers: int, address: str | None = None
) -> Iterator[R]:
    """Yield ``fn(item)`` for every item, in completion order, as Ray tasks.

    With no ``address`` and no Ray already initialised, a local Ray of ``workers`` CPUs is
    started for this call and shut down after it. At most ``2 * workers`` tasks are in flight.
    """
    try:
        import ray
    except ImportError:
        raise MetacurateError("--engine ray needs Ray: pip install 'metacurate[ray]'") from None
    started_here = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False)
        started_here = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=2)(_call)
        fn_ref = ray.put(fn)
        queue = iter(items)
        pending = []
        for item in queue:
            pending.append(remote.remote(fn_ref, item))
            if len(pending) >= 2 * max(1, workers):
                break
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    cause = getattr(exc, "cause", None)
                    if isinstance(cause, MetacurateError):  # a user mistake, not a bug
                        raise MetacurateError(str(cause)) from None
                    raise
                nxt = next(queue, None)
                if nxt is not None:
                    pending.append(remote.remote(fn_ref, nxt))
    finally:
        if started_here:
            ray.shutdown()
