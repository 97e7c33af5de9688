"""The local engine's processes: forked when asked for and safe, spawned otherwise."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from metacurate.config import ConfigError, EngineConfig

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork: Linux only")

#: Run in a fresh process (this one may hold other tests' threads): a module-level mark is set
#: after the imports; a forked worker sees it, a spawned one (a fresh interpreter) does not.
PROBE = r"""
import json, os, sys, threading, time
import metacurate.engine.local as local
from metacurate.engine import no_checkpoint
local.MARK = 0

def task(item, checkpoint):
    time.sleep(0.05)  # so the other process gets some of the items
    return local.MARK, os.getpid()

if __name__ == "__main__":
    local.MARK = 7
    stop = threading.Event()
    if sys.argv[2] == "thread":  # another Python thread alive at the fork
        threading.Thread(target=stop.wait).start()
    engine = local.LocalEngine(2, no_checkpoint, sys.argv[1])
    engine.warm(6)
    got = set(engine.map(task, list(range(6))))
    engine.close()
    stop.set()
    print(json.dumps({"others": sorted({m for m, p in got if p != os.getpid()}),
                      "engine": engine.describe()}))
"""


def _probe(tmp_path, method: str, other_thread: bool = False) -> dict:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    argv = [sys.executable, str(script), method, "thread" if other_thread else "alone"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@linux_only
def test_forked_workers_are_copies_of_this_process(tmp_path):
    got = _probe(tmp_path, "fork")
    assert got["others"] == [7]  # the other process ran tasks, with this process's state
    assert got["engine"] == {"kind": "local", "workers": 2, "start_method": "fork"}


def test_spawned_workers_start_afresh(tmp_path):
    got = _probe(tmp_path, "spawn")
    assert got["others"] == [0]
    assert got["engine"]["start_method"] == "spawn"


@linux_only
def test_no_fork_while_another_thread_runs(tmp_path):
    """A fork copies only the calling thread: with another one alive, the engine spawns."""
    got = _probe(tmp_path, "fork", other_thread=True)
    assert got["others"] == [0] and got["engine"]["start_method"] == "spawn"


def test_start_method_is_checked():
    with pytest.raises(ConfigError, match="start_method"):
        EngineConfig(start_method="forkserver").check()


def test_cli_forks_on_linux_only():
    from metacurate.cli_flags import default_start_method

    assert default_start_method() == ("fork" if sys.platform.startswith("linux") else "spawn")


SUBMIT = r"""
import json, os, sys
import metacurate.engine.local as local
from metacurate.engine import no_checkpoint

def task(item, checkpoint):
    return item

def where(arg):
    return arg, os.getpid()

def boom(arg):
    raise ValueError(arg)

if __name__ == "__main__":
    out = {}
    engine = local.LocalEngine(int(sys.argv[1]), no_checkpoint, "spawn")
    out["before"] = engine.submit(where, "a")()[1] == os.getpid()  # no processes yet
    list(engine.map(task, [1, 2, 3, 4]))
    out["pid_other"] = engine.submit(where, "b")()[1] != os.getpid()
    wait = engine.submit(boom, "bad")
    try:
        wait()
    except ValueError as exc:
        out["error"] = str(exc)
    engine.close()
    print(json.dumps(out))
"""


def _submit_probe(tmp_path, workers: int) -> dict:
    script = tmp_path / "submit.py"
    script.write_text(SUBMIT)
    argv = [sys.executable, str(script), str(workers)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_submit_runs_in_the_idle_process_and_here_without_one(tmp_path):
    """``Engine.submit``: in another process once the engine's are running, here before
    and with one worker; the call's own error reaches the caller."""
    two = _submit_probe(tmp_path, 2)
    assert two == {"before": True, "pid_other": True, "error": "bad"}
    one = _submit_probe(tmp_path, 1)
    assert one == {"before": True, "pid_other": False, "error": "bad"}


def test_submit_runs_here_when_the_process_dies():
    """A process that dies under a submitted call: the waiter runs the call here."""
    import os
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from metacurate.engine import no_checkpoint
    from metacurate.engine.local import LocalEngine

    engine = LocalEngine(2, no_checkpoint, "spawn")
    engine._pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"))
    try:
        wait = engine.submit(_exit_unless_here, os.getpid())
        assert wait() == "here"
    finally:
        engine.close()


def _exit_unless_here(pid: int) -> str:
    import os

    if os.getpid() != pid:
        os._exit(3)
    return "here"


REAP = r"""
import json, os, resource, sys
import metacurate.engine.local as local
from metacurate.engine import no_checkpoint

def task(item, checkpoint):
    x = 0
    for i in range(3_000_000):  # some CPU in the other process
        x += i
    return os.getpid()

if __name__ == "__main__":
    engine = local.LocalEngine(2, no_checkpoint, "fork")
    pids = {p for p in engine.map(task, list(range(4))) if p != os.getpid()}
    engine.close()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    alive = [p for p in pids if os.path.exists(f"/proc/{p}")]
    print(json.dumps({"others": len(pids), "alive": alive, "cpu": usage.ru_utime}))
"""


@linux_only
def test_closing_an_idle_engine_ends_and_reaps_its_processes(tmp_path):
    """Every task done: ``close`` ends the other processes at once (they hold nothing) and
    reaps them, so their CPU time is this process's children's (what ``time`` reports)."""
    script = tmp_path / "reap.py"
    script.write_text(REAP)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["others"] == 1 and got["alive"] == [] and got["cpu"] > 0.05
    assert done.stderr == ""


CTRL_C_AT_FORK = r"""
import ctypes, functools, os, signal
from metacurate.engine import no_checkpoint
from metacurate.engine.local import LocalEngine

# a Ctrl-C to the whole process group that reaches a worker right after its fork, before its
# initializer ignores SIGINT (C's raise(): no Python frame in the fork hook to handle it in)
c_raise = getattr(ctypes.CDLL(None), "raise")
os.register_at_fork(after_in_child=functools.partial(c_raise, signal.SIGINT))


def task(x, checkpoint):
    return x * 2


engine = LocalEngine(3, no_checkpoint, start_method="fork")
engine.warm(8)
print(sorted(engine.map(task, list(range(8)))))
engine.close()
"""


def test_a_ctrl_c_as_a_worker_starts_prints_nothing(tmp_path):
    """A Ctrl-C that reached a worker between its fork and its initializer (which ignores
    SIGINT: the driver stops the pool) printed "Process ForkProcess-1:" and a traceback (1 in
    100 Ctrl-C trials). Workers start with SIGINT blocked until they ignore it."""
    r = subprocess.run(
        [sys.executable, "-c", CTRL_C_AT_FORK], capture_output=True, text=True, timeout=120,
        cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr == ""
    assert r.stdout == "[0, 2, 4, 6, 8, 10, 12, 14]\n"
