"""One run at a time per output folder: an exclusive lock file, ``OUT/.metacurate.lock``.

The lock is an ``flock`` on that file, which the kernel releases when its process dies, so a
lock left by a killed run is taken over (with a message naming the dead owner); a live owner
makes the second run refuse in one line. The file records the owner's pid, host and start
time while held, and is emptied (never removed) when the run ends: removing it would let a
run that opened the old file lock that nameless file while another locks a new one.

The file is opened without following a link (``O_NOFOLLOW``) and must be a plain file with
one name: a link planted in a shared folder cannot make a run overwrite someone's file. After
``flock``, the name must still lead to the locked file (someone may have removed it); else
the lock is taken again on the new file.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from metacurate.errors import EnvironmentFault, MetacurateError
from metacurate.storage import is_remote

LOCK_NAME = ".metacurate.lock"

#: Tries when the lock file is replaced between open and ``flock`` (each try is a fresh file).
ATTEMPTS = 20


def _owner(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096) or b"{}")
    except (OSError, ValueError):
        return {}


def _open(path: Path) -> int:
    """The lock file, created if needed: never through a link, never a FIFO or device, never
    a file with another name elsewhere."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise MetacurateError(
                f"{path} is a symbolic link, not metacurate's lock file; remove it "
                "(nothing was written through it)"
            ) from None
        raise EnvironmentFault.from_oserror(exc, "creating the output folder's lock") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        what = "a hard link to another file" if stat.S_ISREG(st.st_mode) else "not a plain file"
        raise MetacurateError(
            f"{path} is {what}, not metacurate's lock file; remove it (nothing was written to it)"
        )
    return fd


def _same_file(fd: int, path: Path) -> bool:
    """True while ``path`` names the file open as ``fd``."""
    try:
        now = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    st = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)


def _acquire(folder: Path, path: Path) -> int:
    """A descriptor of ``path`` holding its ``flock``; a live owner: one line."""
    for _ in range(ATTEMPTS):
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _owner(fd)
            os.close(fd)
            raise MetacurateError(
                f"{folder}: another metacurate run (pid {who.get('pid', '?')} on "
                f"{who.get('host', '?')}, since {who.get('started', '?')}) is writing here; "
                "wait for it to finish or use another --out"
            ) from None
        if _same_file(fd, path):
            return fd
        os.close(fd)  # the file was removed or replaced meanwhile: lock the new one
    raise MetacurateError(f"{path} keeps being replaced by another process; stop it and rerun")


@contextmanager
def output_lock(folder: str | Path) -> Iterator[Path]:
    """Hold the lock of ``folder`` (created if needed) for the ``with`` block."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise MetacurateError(f"{folder}: is a file, not a folder; pass a folder as --out")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvironmentFault.from_oserror(exc, "creating the output folder") from None
    path = folder / LOCK_NAME
    fd = _acquire(folder, path)
    try:
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
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(me).encode(), 0)
        except OSError as exc:
            raise EnvironmentFault.from_oserror(exc, "writing the output folder's lock") from None
        try:
            yield path
        finally:
            with suppress(OSError):  # no owner any more; the file stays (module docstring)
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)


@contextmanager
def output_locks(*folders: str | Path) -> Iterator[None]:
    """Locks on every distinct local folder (by real path), taken in a fixed order. An object
    store has no lock files (no exclusive create through pyarrow): one run at a time per
    remote output folder is the user's to keep (docs/storage.md)."""
    distinct = sorted({os.path.realpath(f) for f in folders if f and not is_remote(f)})
    with ExitStack() as stack:
        for f in distinct:
            stack.enter_context(output_lock(f))
        yield
