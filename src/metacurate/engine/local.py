"""The local engine: tasks inline (one worker) or in a pool of spawned processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from functools import partial
from multiprocessing import get_context
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def bounded_map(
    submit: Callable[[T], object], wait_one: Callable, items: Sequence[T], in_flight: int
) -> Iterator:
    """Submit items keeping at most ``in_flight`` pending; yield finished handles in order of
    completion (so memory does not grow with the number of tasks)."""
    queue = iter(items)
    pending: set = set()
    for item in queue:
        pending.add(submit(item))
        if len(pending) >= in_flight:
            break
    while pending:
        done, pending = wait_one(pending)
        for handle in done:
            yield handle
            nxt = next(queue, None)
            if nxt is not None:
                pending.add(submit(nxt))


class LocalEngine:
    """Runs tasks in this process (one worker) or in spawned processes, started once per
    command and reused by every stage. Spawned, not forked: forked thread pools of Arrow (and
    polars) can deadlock."""

    def __init__(self, workers: int, checkpoint: Callable[[str], None]) -> None:
        self.workers = max(1, workers)
        self.checkpoint = checkpoint
        self._pool: Executor | None = None

    def map(self, fn: Callable, items: Sequence[T]) -> Iterator[R]:
        """Yield ``fn(item, checkpoint)`` for every item, in completion order."""
        fn = partial(fn, checkpoint=self.checkpoint)
        if self.workers == 1 or len(items) <= 1:
            for item in items:
                yield fn(item)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        pool = self._pool
        for fut in bounded_map(
            lambda item: pool.submit(fn, item),
            lambda pending: wait(pending, return_when=FIRST_COMPLETED),
            items,
            2 * self.workers,
        ):
            yield fut.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
