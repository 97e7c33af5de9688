"""Our own processes (the CLI, local workers) are tuned at start (engine/startup.py); a user's
process (the Python API) is left as it is."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest

PROBE = r"""
import gc, sys
import pyarrow as pa
{call}
pa.table({{"a": [1]}})
print(pa.default_memory_pool().backend_name, "pandas" in sys.modules, gc.get_threshold()[0])
"""


def _probe(call: str) -> list[str]:
    code = PROBE.format(call=call)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.split()


def _has_jemalloc() -> bool:
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        return False
    return True


def test_tuned_process_uses_jemalloc_skips_pandas_and_collects_less():
    if not _has_jemalloc():
        pytest.skip("this pyarrow has no jemalloc")
    pytest.importorskip("pandas")
    plain = _probe("")  # a fresh process, as pyarrow and Python ship (this one may be tuned)
    assert plain[1:] == ["True", "700"]
    assert _probe("from metacurate.engine.startup import tune_process; tune_process()") == [
        "jemalloc",
        "False",
        "50000",
    ]


def test_local_workers_are_tuned(tmp_path):
    from metacurate.engine import no_checkpoint
    from metacurate.engine.local import LocalEngine

    engine = LocalEngine(3, no_checkpoint)
    try:
        got = set(engine.map(_backend, list(range(6))))
    finally:
        engine.close()
    expected = "jemalloc" if _has_jemalloc() else pa.default_memory_pool().backend_name
    assert expected in got  # the spawned processes (this one is the test's own)


def _backend(item: int, checkpoint) -> str:
    import time

    time.sleep(0.05)  # so the spawned processes get some of the items
    return pa.default_memory_pool().backend_name
