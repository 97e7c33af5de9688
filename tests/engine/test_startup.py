"""Our own processes (the CLI, local workers) are tuned at start (engine/startup.py); a user's
process (the Python API) is left as it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa

from metacurate.engine import startup


def _has_jemalloc() -> bool:
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        return False
    return True


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


ENV_PROBE = r"""
import json, os, sys
sys.argv = ["metacurate", "--version"]
import metacurate.cli
try:
    metacurate.cli.main()
except SystemExit:
    pass
import pyarrow as pa
print(json.dumps({"pool": pa.default_memory_pool().backend_name,
                  "blas": os.environ.get("OPENBLAS_NUM_THREADS")}))
"""


def test_the_cli_sets_arrows_pool_and_one_blas_thread_before_they_load():
    """Arrow's own allocations ignored pa.set_memory_pool (mimalloc zeroed fresh huge pages:
    11% of a curate's CPU); numpy's BLAS threads spun after start-up."""
    env = {k: v for k, v in os.environ.items() if k not in startup.environment()}
    got = json.loads(_run(ENV_PROBE, env))
    assert got["blas"] == "1"
    if sys.platform.startswith("linux") and _has_jemalloc():
        assert got["pool"] == "jemalloc"
    mine = json.loads(_run(ENV_PROBE, {**env, "OPENBLAS_NUM_THREADS": "3"}))
    assert mine["blas"] == "3"  # a user's setting wins


def test_tune_environment_does_nothing_once_numpy_is_loaded(monkeypatch):
    import numpy  # noqa: F401 - loaded in this process

    for name in startup.environment():
        monkeypatch.delenv(name, raising=False)
    startup.tune_environment()
    assert not set(startup.environment()) & set(os.environ)


def _run(code: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return done.stdout.strip().splitlines()[-1]  # after the version line


PROBE_TOUCHES = r"""
import sys
class Recording(list):
    touched = []
    def insert(self, *a):
        self.touched.append("insert"); super().insert(*a)
    def remove(self, *a):
        self.touched.append("remove"); super().remove(*a)
sys.meta_path = Recording(sys.meta_path)
sys.modules.pop("pandas", None)
from metacurate.engine.startup import skip_pandas_probe
skip_pandas_probe()
import pandas, dateutil.tz  # importable afterwards, six's own finder (added meanwhile) kept
print(Recording.touched, type(sys.meta_path).__name__)
"""


def test_the_pandas_probe_leaves_the_import_finders_alone():
    """The CLI tunes itself while its head-start thread imports (engine/startup.py): a finder
    inserted into and removed from ``sys.meta_path`` meanwhile made that thread's lookup skip
    the path finder ("No module named 'pyarrow.fs'", once in a CI run)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE_TOUCHES], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["[]", "Recording"]  # the same list object back
