"""A Ray cluster as users start one: ``ray start --head --block`` in its own process group,
working folder and temporary folder (so it shares nothing with another cluster on this
machine); stopped by signalling its process group, never with ``ray stop`` (which stops every
cluster of the machine)."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require_system

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Head:
    address: str
    process: subprocess.Popen
    cwd: Path

    def pids(self, word: str) -> list[int]:
        """Processes of this cluster (descendants of ``ray start``) whose command line has
        ``word``."""
        return [pid for pid, cmd in _group(self.process.pid) if word in cmd]


def _group(root: int) -> list[tuple[int, str]]:
    """``(pid, command line)`` of ``root`` and every process descending from it (Ray starts
    its workers in sessions of their own: a process group would miss them)."""
    procs: dict[int, tuple[int, str]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[0] != "Z":
            procs[int(d.name)] = (int(fields[1]), cmd.strip())
    family, grew = {root}, True
    while grew:
        more = {pid for pid, (ppid, _) in procs.items() if ppid in family} - family
        family |= more
        grew = bool(more)
    return [(pid, procs[pid][1]) for pid in sorted(family) if pid in procs]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def ray_head(cwd: Path, cpus: int = 2, token: bool = False) -> Iterator[Head]:
    """A head node of ``cpus`` CPUs started in ``cwd``; ``token``: with Ray's token
    authentication (what ``ray start`` does by default), else opted out."""
    require_system(
        "ray (pip install 'metacurate[ray]')", importlib.util.find_spec("ray") is not None
    )
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="rh", dir="/tmp")  # short: Ray's socket paths are limited
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    if not token:
        env["RAY_AUTH_MODE"] = "disabled"
    paths = [env.get("PYTHONPATH", ""), str(REPO)]  # this checkout's sources, its tests' hooks
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    ray = str(Path(sys.executable).parent / "ray")
    proc = subprocess.Popen(
        [ray, "start", "--head", "--block", f"--port={port}", f"--num-cpus={cpus}",
         "--include-dashboard=false", f"--temp-dir={temp}", "--disable-usage-stats",
         "--node-ip-address=127.0.0.1"],
        cwd=cwd, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not any("raylet" in cmd for _, cmd in _group(proc.pid)):
            assert proc.poll() is None and time.monotonic() < deadline, "ray start failed"
            time.sleep(0.5)
        time.sleep(3)  # the raylet registers with the GCS
        yield Head(address, proc, cwd)
    finally:
        family = [pid for pid, _ in _group(proc.pid)]
        with_signal(family, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        with_signal(family + [pid for pid, _ in _group(proc.pid)], signal.SIGKILL)
        subprocess.run(["rm", "-rf", temp], check=False)


def with_signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, sig)
