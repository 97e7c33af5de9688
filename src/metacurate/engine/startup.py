"""Start-up of the processes metacurate owns (the CLI, local workers): measured fixed costs
removed. Not applied to a user's own process (the Python API).

- pyarrow recognises pandas objects in ``pa.array``/``pa.table`` by importing pandas on the
  first such call of a process when pandas is installed: 0.45-0.7 s of CPU in the driver and
  in every worker (measured, docs/performance.md), although metacurate never hands pyarrow a
  pandas object. :func:`skip_pandas_probe` makes that first probe find no pandas, so pyarrow
  remembers "no pandas" and never imports it; an explicit ``pa.Table.from_pandas`` later still
  works (it imports pandas itself).
- Arrow's default allocator (mimalloc in these wheels) hands freed memory back to the kernel
  at once, and every batch then faults in and zeroes fresh (huge) pages: ~0.5 s of system time
  per 1M rows. jemalloc, which Arrow also ships, keeps it for reuse (:func:`use_jemalloc`).
- Python's cyclic garbage collector ran ~150 times in a 1M-row ``curate`` driver (0.14 s),
  each full pass walking every object made since start-up; :func:`fewer_collections` freezes
  what start-up made and collects less often (metacurate makes few reference cycles).
- Two settings only work before numpy and pyarrow load (:func:`tune_environment`, the CLI's
  first step): Arrow's own C++ allocations (Parquet, IPC, compute) take the pool named by
  ``ARROW_DEFAULT_MEMORY_POOL``, not the one ``pa.set_memory_pool`` sets, and with mimalloc
  they zeroed fresh huge pages: 11% of a 100k-row ``curate``'s CPU samples, system time 0.5 ->
  0.3 s. numpy's OpenBLAS starts one thread per core that spins after start-up (5% of the
  samples); metacurate does no linear algebra.
"""

from __future__ import annotations

import gc
import os
import sys
from contextlib import suppress
from importlib.abc import MetaPathFinder


class _NoPandas(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # noqa: ANN001 - importlib's signature
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not needed by this process")
        return None


def skip_pandas_probe() -> None:
    """Let pyarrow's first pandas probe fail (nothing happens when pandas is loaded already)."""
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)


def use_jemalloc() -> None:
    """Make jemalloc Arrow's default memory pool when this pyarrow has it (else keep the
    default)."""
    import pyarrow as pa

    with suppress(NotImplementedError, AttributeError):  # a build without jemalloc
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def fewer_collections() -> None:
    """Start-up's objects out of the collector's way; a young-generation pass every 50,000
    allocations instead of 700."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


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


def tune_process() -> None:
    """Everything above, for a process of ours."""
    use_jemalloc()
    skip_pandas_probe()
    fewer_collections()
