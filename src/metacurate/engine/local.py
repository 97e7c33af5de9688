"""The local engine: tasks inline (one worker) or in a pool of spawned processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_local(fn: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    """Yield ``fn(item)`` for every item, in completion order.

    Processes are spawned, not forked (forked thread pools of Arrow/polars can deadlock), and
    at most ``2 * workers`` tasks are in flight, so memory does not grow with the pool size.
    """
    if workers <= 1 or len(items) <= 1:
        for item in items:
            yield fn(item)
        return
    ctx = get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=ctx) as ex:
        pending = set()
        queue = iter(items)
        for item in queue:
            pending.add(ex.submit(fn, item))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
                nxt = next(queue, None)
                if nxt is not None:
                    pending.add(ex.submit(fn, nxt))
