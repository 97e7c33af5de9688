"""Our own processes (the CLI, local workers) are tuned at start (engine/startup.py); a user's
process (the Python API) is left as it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pytest

from metacurate.engine import startup

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


def test_curate_without_a_terminal_never_imports_tqdm(tmp_path):
    """No progress bar to show (stderr is not a terminal): tqdm, ~0.04 s of imports, stays
    out; asked for (``progress=True``), the bars are tqdm's, on stderr."""
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["a dog", "a cat"]}), tmp_path / "p.parquet")
    (tmp_path / "m.txt").write_text("dog\ncat\n")
    pool, md = str(tmp_path / "p.parquet"), str(tmp_path / "m.txt")
    cli = (
        "import sys\nfrom metacurate.cli import main\n"
        f"assert main(['curate', {pool!r}, '--metadata', {md!r}, '--t', '1', '--out', "
        f"{str(tmp_path / 'o1')!r}]) == 0\n"
        "print('tqdm' in sys.modules)\n"
    )
    api = (
        "import sys\nfrom metacurate.api import curate\n"
        f"curate({pool!r}, {str(tmp_path / 'o2')!r}, metadata={md!r}, t=1, progress=True)\n"
        "print('tqdm' in sys.modules)\n"
    )
    for code, want in ((cli, "False"), (api, "True")):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().splitlines()[-1] == want
        assert ("match: 100%" in done.stderr) == (want == "True")
