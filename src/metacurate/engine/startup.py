"""Start-up of the processes metacurate owns (the CLI, local workers): every measured trick, in
the order a ``metacurate curate`` meets it, in this one module. None is applied to a user's own
process (the Python API) except where said. Numbers: docs/performance.md (2 cores).

1. :func:`tune_environment`, the CLI's first step, before numpy and pyarrow load (they read it
   then; a user's setting wins): Arrow's own C++ allocations (Parquet, IPC, compute) take the
   pool named by ``ARROW_DEFAULT_MEMORY_POOL``, not the one ``pa.set_memory_pool`` sets, and
   with mimalloc they zeroed fresh huge pages: 11% of a 100k-row ``curate``'s CPU samples,
   system time 0.5-0.6 -> 0.3 s. numpy's OpenBLAS starts one thread per core that spins after
   start-up (5% of the samples); metacurate does no linear algebra.
2. A stage command is parsed without the other commands' modules (``cli.build_parser``): its
   work starts ~0.2 s sooner.
3. :class:`HeadStart`, the prefetch thread (``match/ahead.py`` says what it loads): ``curate``
   loads its metadata and checks its index (sha256 and the kernel's ``validate``, which
   release the GIL) in a thread started before the CLI imports pyarrow and the stages (~0.2 s
   of imports, which hold it): 1.11x wall, 1.12x CPU at 100k rows.
4. :func:`tune_process`, in the CLI and in every worker: pyarrow's first ``pa.array`` imports
   pandas to recognise pandas objects: 0.46-0.71 s of CPU per process, although metacurate
   never hands it one (:func:`skip_pandas_probe`; ``pa.Table.from_pandas`` still works);
   Arrow's default pool (mimalloc) hands freed memory back at once and every batch faults in
   fresh pages: ~0.5 s of system time per 1M rows (:func:`use_jemalloc`); Python's cyclic
   collector ran ~150 times in a 1M-row ``curate`` driver, 0.14 s (:func:`fewer_collections`).
5. Imports done early "for later": while the CLI waits for the head start, it imports what it
   needs only later (the report's modules, ``numpy.ma``, which pyarrow imports at its first
   ``pa.array`` of a numpy array): the thread's work releases the GIL, and the workers forked
   afterwards have them too: ~0.03 s in each process (:meth:`HeadStart.result`).
6. Fork only while no other thread runs (:func:`start_method`): the CLI's workers are forked
   copies made after its imports, started in milliseconds instead of ~0.3 s of CPU each for
   a spawned interpreter's imports: 1.09x wall, 1.12x CPU. A fork copies the calling thread
   only, so a lock another thread held would stay locked in the child forever: the match
   driver warms the engine after the head start has ended, or before it starts a thread of
   its own, and any other thread makes it spawn.
7. Workers started ahead (``Engine.warm``) import the modules the driver names
   (:func:`import_modules`): a spawned worker's ~0.3 s of imports overlaps the driver's own
   set-up (metadata, index check).
8. :func:`quick_exit`: ``os._exit`` once stdout and stderr are flushed (every output is
   committed and fsynced before the command returns): no teardown of a large heap, no wait
   for the idle workers (killed and reaped by the engine's ``close``): 0.10-0.12 -> 0.03 s.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from importlib.abc import MetaPathFinder
from typing import Any

# --- 1. before numpy and pyarrow load ---------------------------------------------------------


def environment() -> dict[str, str]:
    """What :func:`tune_environment` sets (jemalloc: in the Linux wheels of pyarrow)."""
    env = {"OPENBLAS_NUM_THREADS": "1"}
    if sys.platform.startswith("linux"):
        env["ARROW_DEFAULT_MEMORY_POOL"] = "jemalloc"
    return env


def tune_environment() -> None:
    """In a fresh process of ours, before numpy and pyarrow load (they read these then; a
    setting of the user's wins): jemalloc for Arrow's own allocations, one BLAS thread. The
    worker processes inherit it."""
    if "numpy" in sys.modules or "pyarrow" in sys.modules:  # too late: nothing would change
        return
    for name, value in environment().items():
        os.environ.setdefault(name, value)


# --- 3. and 5. the head start, and the imports for later --------------------------------------


class HeadStart:
    """``work(publish)`` in a thread started now; ``publish(value)`` hands out an early result
    (:meth:`early`), the return value is the final one (:meth:`result`). An error in the thread
    is raised by whichever of the two waits for it, where the caller would have raised it.
    ``later``: modules :meth:`result` imports while it waits (5. above)."""

    def __init__(self, work: Callable[[Callable[[Any], None]], Any], later: Sequence[str] = ()):
        self._later = tuple(later)
        self._early: list[Any] = []
        self._final: list[Any] = []
        self._error: BaseException | None = None
        self._published = threading.Event()  # the early result is there, or the thread failed
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[Callable[[Any], None]], Any]) -> None:
        def publish(value: Any) -> None:
            self._early.append(value)
            self._published.set()

        try:
            self._final.append(work(publish))
        except BaseException as exc:  # raised again, in the caller's thread
            self._error = exc
        finally:
            self._published.set()

    def early(self) -> Any:
        """The published value, as soon as it is there (the thread may still be working)."""
        self._published.wait()
        if not self._early:
            self.result()  # the thread failed before publishing: its error
        return self._early[0]

    def result(self) -> Any:
        """Import the ``later`` modules, wait for the thread to end (after this no thread of
        ours runs: workers may be forked); its return value, or its error raised."""
        for name in self._later:
            importlib.import_module(name)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._final[0]


# --- 4. every process of ours -----------------------------------------------------------------


class _NoPandas(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # noqa: ANN001 - importlib's signature
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not needed by this process")
        return None


def skip_pandas_probe() -> None:
    """Let pyarrow's first pandas probe fail (nothing happens when pandas is loaded already).
    The finder that refuses pandas is put first in a *new* ``sys.meta_path`` list, and the
    original list object is put back afterwards: the CLI's head-start thread imports
    meanwhile, and a list it is iterating must not change under it (an insert and a remove
    made it skip the path finder: "No module named 'pyarrow.fs'")."""
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    original = sys.meta_path
    ours = [_NoPandas(), *original]
    sys.meta_path = ours
    try:
        pa.array([0])
    finally:
        if sys.meta_path is ours:  # finders added meanwhile (six adds one) go to the end
            original.extend(f for f in ours[1:] if not any(f is g for g in original))
            sys.meta_path = original


def use_jemalloc() -> None:
    """Make jemalloc Arrow's default memory pool when this pyarrow has it (else keep the
    default)."""
    import pyarrow as pa

    with suppress(NotImplementedError, AttributeError):  # a build without jemalloc
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def fewer_collections() -> None:
    """Start-up's objects out of the collector's way; a young-generation pass every 50,000
    allocations instead of 700 (metacurate makes few reference cycles)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def tune_process() -> None:
    """4. above, for a process of ours (the CLI after its head start, every worker)."""
    use_jemalloc()
    skip_pandas_probe()
    fewer_collections()


# --- 6. and 7. the workers --------------------------------------------------------------------


def start_method(asked: str) -> str:
    """``fork`` when asked for, on Linux, while this process runs no other Python thread;
    else ``spawn``. Arrow's thread pools and jemalloc, whose threads are not Python's, reset
    themselves in a forked child."""
    alone = threading.active_count() == 1
    return "fork" if asked == "fork" and sys.platform.startswith("linux") and alone else "spawn"


def import_modules(names: Sequence[str]) -> None:
    """The warm-up task of a worker started ahead: import the modules the driver named (what
    its tasks import)."""
    for name in names:
        importlib.import_module(name)


# --- 8. the exit ------------------------------------------------------------------------------


def quick_exit(code: int) -> None:
    """Flush stdout and stderr, then leave at once with ``code`` (everything a command writes
    is committed before it returns)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # the reader went away, or a stream was closed
        pass
    os._exit(code)
