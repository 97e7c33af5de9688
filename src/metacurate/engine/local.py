"""The local engine: tasks inline (one worker) or in a pool of spawned or forked processes."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import partial
from multiprocessing import get_context
from typing import TypeVar

from metacurate.engine.startup import import_modules, start_method, tune_process
from metacurate.engine.submit import run_later
from metacurate.errors import EnvironmentFault

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


#: Resident memory a spawned worker needs beyond the shared, memory-mapped index (measured
#: 300-380 MB with the default batch size; see docs/performance.md).
WORKER_BYTES = 400 * 2**20


def available_memory(meminfo: str | os.PathLike = "/proc/meminfo") -> int | None:
    """Bytes the kernel can give a new process: ``MemAvailable``, which counts the page cache
    it reclaims on demand (``MemFree`` does not: after a large copy or install it is a small
    part of what is usable). ``None`` where there is no such file (not Linux)."""
    try:
        with open(meminfo) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def capped_workers(workers: int, tasks: int, meminfo: str | os.PathLike = "/proc/meminfo") -> int:
    """``workers``, at most one per task and at most what the available memory holds."""
    n = min(workers, tasks)
    available = available_memory(meminfo)
    if available is None:  # pragma: no cover - not Linux
        return n
    fits = max(1, int(available // WORKER_BYTES))
    if n > fits:
        print(
            f"metacurate: --workers {workers} capped at {fits}: {available / 2**30:.1f} GiB "
            f"of memory available, about {WORKER_BYTES // 2**20} MiB per worker",
            file=sys.stderr,
        )
        return fits
    return n


def start_worker() -> None:
    """Worker initializer: die with the driver; leave Ctrl-C (sent to the whole process
    group) to the driver, which stops the pool: a worker interrupted while idle printed a
    traceback; tuned as the CLI is (engine/startup.py)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked since the start (_starting_processes)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    die_with_parent()
    tune_process()


@contextmanager
def _starting_processes() -> Iterator[None]:
    """SIGINT blocked in this thread for a call that may start the pool's processes: a new
    process keeps the mask (through fork and exec) until :func:`start_worker` ignores SIGINT;
    a Ctrl-C that reached one before printed "Process ForkProcess-1:" and a traceback. This
    process handles one that came meanwhile right after."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def die_with_parent() -> None:
    """On Linux, ask the kernel to SIGKILL this worker when the driver dies (a killed driver
    leaves no workers writing into its output folder)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: nothing to do
            pass
        if os.getppid() == 1:  # the driver died before we got here
            os._exit(1)


class LocalEngine:
    """Runs tasks in this process alone (one worker), or in this process and ``workers - 1``
    others, started once per command and reused by every stage. This process takes a task
    itself whenever none of the others has finished one, so tasks start at once and one start
    fewer is paid.

    The others are spawned (fresh interpreters: ~0.3 s of CPU each for the imports), or, with
    ``start_method="fork"`` (the CLI on Linux), forked: copies of this process with its
    imports done, started in milliseconds. A fork is taken only while no other Python thread
    runs (:func:`~metacurate.engine.startup.start_method`, engine/startup.py's step 6); the
    stages start the processes before their own threads.
    ``preload``: the modules :meth:`warm` has the processes import (the driver names them:
    what its tasks import; the engine knows no stage)."""

    def __init__(
        self,
        workers: int,
        checkpoint: Callable[[str], None],
        start_method: str = "spawn",
        preload: Sequence[str] = (),
    ) -> None:
        self.workers = max(1, workers)
        self.checkpoint = checkpoint
        self.start_method = start_method  # asked for; describe() says what was used
        self.preload = tuple(preload)
        self._started: str | None = None
        self._pool: Executor | None = None
        self._size = 0  # processes of the pool, once started
        self._pending: set = set()  # the futures of the last map not yet yielded

    def map(self, fn: Callable, items: Sequence[T]) -> Iterator[R]:
        """Yield ``fn(item, checkpoint)`` for every item, in completion order."""
        fn = partial(fn, checkpoint=self.checkpoint)
        if self._pool is None and self.workers > 1 and len(items) > 1:
            self._pool = self._new_pool(len(items))
        if self._pool is None:
            for item in items:
                yield fn(item)
            return
        try:
            yield from self._shared(fn, items, self._pool)
        except BrokenProcessPool:
            self._pool = None
            raise EnvironmentFault(
                "a worker process died without a word (killed by the out-of-memory killer, or "
                "a signal); rerun with fewer --workers or a smaller --batch-rows: finished "
                "tasks are kept"
            ) from None

    def submit(self, fn: Callable[[T], R], arg: T) -> Callable[[], R]:
        """Start ``fn(arg)`` in one of the other processes when they are running and idle
        (engine/submit.py); else the waiter runs it here. A process that died before, or
        dies meanwhile, makes the waiter run it here."""
        pool = self._pool
        if pool is None or not all(f.done() for f in self._pending):
            return run_later(fn, arg)
        try:
            with _starting_processes():
                future = pool.submit(fn, arg)
        except (BrokenProcessPool, RuntimeError):  # a process died while idle: no pool
            return run_later(fn, arg)

        def wait() -> R:
            try:
                return future.result()
            except BrokenProcessPool:
                return fn(arg)

        return wait

    def _shared(self, fn: Callable, items: Sequence[T], pool: Executor) -> Iterator[R]:
        """The pool's processes keep up to two tasks each queued; when none has finished,
        this process runs the next task itself."""
        queue = deque(items)
        pending = self._pending = set()
        while queue or pending:
            with _starting_processes():
                while queue and len(pending) < 2 * self._size:
                    pending.add(pool.submit(fn, queue.popleft()))
            done = {f for f in pending if f.done()}
            if not done and queue:
                yield fn(queue.popleft())
                continue
            if not done:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
            pending -= done
            for fut in done:
                yield fut.result()

    def _new_pool(self, n_items: int) -> ProcessPoolExecutor | None:
        """Never more processes than tasks, or than memory holds (this one counts); None when
        that leaves only this process."""
        self._size = capped_workers(self.workers, n_items) - 1
        if self._size < 1:
            return None
        self._started = start_method(self.start_method)
        return ProcessPoolExecutor(
            self._size, mp_context=get_context(self._started), initializer=start_worker
        )

    def warm(self, n_items: int) -> None:
        """Start the processes for ``n_items`` tasks now, so that their start (spawned: the
        imports, ~0.3 s of CPU each) overlaps the driver's own set-up (metadata, index
        check), each importing the ``preload`` modules."""
        if self.workers == 1 or n_items <= 1 or self._pool is not None:
            return
        self._pool = self._new_pool(n_items)
        if self._pool is None:
            return
        with _starting_processes():
            for _ in range(self._size):
                self._pool.submit(import_modules, self.preload)

    def describe(self) -> dict:
        """Where tasks ran: this machine, ``workers`` processes (and how the others were
        started, when there were others)."""
        out: dict = {"kind": "local", "workers": self.workers}
        if self._started is not None:
            out["start_method"] = self._started
        return out

    def close(self) -> None:
        """Let the processes go. When every task has finished, they hold nothing: they are
        killed and reaped at once (an orderly exit, Python's teardown of a forked copy of
        this heap, took ~0.1 s); else (an error, an interrupt) after the running tasks end,
        so none writes on once the output is unlocked."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        if not all(f.done() for f in self._pending):
            pool.shutdown(wait=True, cancel_futures=True)
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            p.kill()
        for p in processes:
            p.join(5)
