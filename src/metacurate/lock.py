"""One run at a time per output folder: an exclusive lock file, ``OUT/.metacurate.lock``.

The lock is an ``flock`` on that file, which the kernel releases when its process dies, so a
lock left by a killed run is taken over (with a message naming the dead owner); a live owner
makes the second run refuse in one line. The file records the owner's pid, host and start
time, and is removed when the run ends.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from metacurate.errors import EnvironmentFault, MetacurateError

LOCK_NAME = ".metacurate.lock"


def _owner(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096) or b"{}")
    except (OSError, ValueError):
        return {}


@contextmanager
def output_lock(folder: str | Path) -> Iterator[Path]:
    """Hold the lock of ``folder`` (created if needed) for the ``with`` block."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise MetacurateError(f"{folder}: is a file, not a folder; pass a folder as --out")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise EnvironmentFault.from_oserror(exc, "creating the output folder") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _owner(fd)
            raise MetacurateError(
                f"{folder}: another metacurate run (pid {who.get('pid', '?')} on "
                f"{who.get('host', '?')}, since {who.get('started', '?')}) is writing here; "
                "wait for it to finish or use another --out"
            ) from None
        old = _owner(fd)
        if old.get("pid"):
            print(
                f"metacurate: taking over the lock of {folder} left by pid {old['pid']} on "
                f"{old.get('host', '?')} (that run has ended)",
                file=sys.stderr,
            )
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(me).encode())
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)
    finally:
        os.close(fd)


@contextmanager
def output_locks(*folders: str | Path) -> Iterator[None]:
    """Locks on every distinct folder (by real path), taken in a fixed order."""
    distinct = sorted({os.path.realpath(f) for f in folders if f})
    with ExitStack() as stack:
        for f in distinct:
            stack.enter_context(output_lock(f))
        yield
