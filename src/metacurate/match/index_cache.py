"""The shared matcher index cache: one index per metadata hash, mode and kernel version, in a
user cache folder, reused by every output folder and never trusted without a checksum.

Where: ``index_cache`` (``--index-cache DIR``), else ``$METACURATE_CACHE``, else
``$XDG_CACHE_HOME/metacurate``, else ``~/.cache/metacurate``; the index of a metadata list is
``ROOT/index/<hash16>-<mode>-k<kernel>-v<format>/``. ``index.json`` records every table's
dtype, shape and sha256 (:meth:`Matcher.save`, ``kernel/tables.py``); the driver checks them,
and the kernel's structural ``validate``, once per run (:func:`verified_index`) before any
worker maps the tables, and rebuilds, saying so, when a file is missing, resized or changed.
Workers on the driver's machine then check shapes only; a worker elsewhere (a Ray node with
its own cache) checks in full. Builds are written to a temporary folder and renamed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import socket
import sys
import time
from pathlib import Path

from metacurate.errors import EnvironmentFault, MetacurateError
from metacurate.files import TMP_INFIX, discard, is_temporary
from metacurate.kernel import calls, native_available
from metacurate.match.matcher import INDEX_VERSION, Matcher
from metacurate.metadata.load import Metadata


def cache_root(configured: str | None = None) -> Path:
    """The cache folder: the configured one, ``$METACURATE_CACHE``, the XDG cache, ~/.cache."""
    if configured:
        return Path(configured).expanduser()
    if os.environ.get("METACURATE_CACHE"):
        return Path(os.environ["METACURATE_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "metacurate"


def index_dir(folder: str | Path, metadata_hash: str, mode: str = "metaclip1") -> Path:
    """The index of this metadata, mode and kernel version in ``folder``."""
    kernel = calls.KERNEL_VERSION or 0
    return Path(folder) / f"{metadata_hash[:16]}-{mode}-k{kernel}-v{INDEX_VERSION}"


def index_folder(root: Path, metadata_hash: str, mode: str) -> Path:
    """Where the index lives under the cache folder ``root``."""
    return index_dir(root / "index", metadata_hash, mode)


def _checked(d: Path, metadata: Metadata | str, mode: str, full: bool) -> Matcher | None:
    """The index of ``d`` when it is there and sound; None when absent; a message to stderr
    and None when it is damaged (the caller rebuilds)."""
    if not (d / "index.json").exists():
        return None
    try:
        return Matcher.load(d, metadata, mode=mode, verify=full)
    except (MetacurateError, OSError, ValueError, EOFError) as exc:
        print(f"metacurate: matcher index {d}: {exc}; rebuilding it", file=sys.stderr)
    discard(d)
    return None


#: A build's temporary folder is removed by a later run once its process is gone, or after
#: this long whatever the process (another machine's, on a shared cache).
STALE_SECONDS = 24 * 3600


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: running
        return True
    return True


def remove_stale_builds(folder: Path) -> list[Path]:
    """Delete the temporary folders of builds that were killed or stopped (``.NAME.tmp-PID-
    RANDOM``, up to tens of MB each): their process is gone, or they are a day old."""
    removed = []
    try:
        names = list(folder.iterdir()) if folder.is_dir() else []
    except OSError:
        return removed
    for p in names:
        if not is_temporary(p):
            continue
        pid = p.name.rsplit(TMP_INFIX, 1)[1].split("-", 1)[0]
        try:
            old = time.time() - p.stat().st_mtime > STALE_SECONDS
        except OSError:
            continue
        if old or (pid.isdigit() and not _running(int(pid))):
            discard(p)
            removed.append(p)
    return removed


def _cache_fault(exc: OSError, folder: Path) -> EnvironmentFault:
    """A failure of the cache folder, named as such (not the output folder), with its fix."""
    fixes = {
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
    }
    code = exc.errno
    if code is None:  # numpy's short write says only how much it wrote: is the disk full?
        with contextlib.suppress(OSError):
            code = errno.ENOSPC if shutil.disk_usage(folder).free < 1 << 20 else None
    why = fixes.get(code or -1, exc.strerror or str(exc))
    return EnvironmentFault(
        f"{exc.filename or folder}: error while writing the matcher index cache ({why}); free "
        "space there or pass --index-cache DIR (or set METACURATE_CACHE) to a writable folder"
    )


def load_or_build(
    metadata: Metadata, folder: str | Path | None, mode: str = "metaclip1"
) -> Matcher:
    """The matcher for ``metadata``: mapped from ``folder`` when saved there before and sound
    (sha256 and structure checked), else built and saved there; built in memory when
    ``folder`` is None or the kernel is not compiled. Builds left half-done by killed runs
    are removed first; a failure of the cache folder (full, read-only) names it."""
    if folder is None or not native_available():
        return Matcher(metadata, mode=mode)
    d = index_dir(folder, metadata.hash, mode)
    remove_stale_builds(Path(folder))
    matcher = _checked(d, metadata, mode, full=True)
    if matcher is not None:
        return matcher
    try:
        Matcher(metadata, mode=mode).save(d)
    except OSError as exc:
        raise _cache_fault(exc, Path(folder)) from None
    return Matcher.load(d, metadata, mode=mode)


def identity(d: Path) -> str:
    """Which files the index folder ``d`` holds now (device, inode, size, mtime of each):
    the driver records it after verifying, and a worker that finds another maps nothing
    unverified (an index swapped in between)."""
    parts = []
    for p in sorted(d.glob("*")):
        st = p.stat()
        parts.append(f"{p.name}:{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def verified_index(metadata: Metadata, root: Path, mode: str = "metaclip1") -> Matcher:
    """The driver's call, once per run: the index in the cache folder ``root``, checked
    against its checksums (rebuilt when absent or damaged), memory-mapped."""
    return load_or_build(metadata, root / "index", mode)


def host() -> str:
    """This machine's name (a worker on the driver's machine shares the driver's cache)."""
    return socket.gethostname()


def mapped_index(
    metadata_hash: str, root: Path, mode: str, same_host: bool, verified: str = ""
) -> Matcher | None:
    """A worker's index from the cache folder ``root``, or None when absent or damaged (the
    caller builds it from the metadata). On the driver's machine the driver verified it this
    run (``verified``: its :func:`identity` then), so only sizes are checked again while the
    folder holds the same files; on another machine (a Ray node with its own cache), or when
    the files were replaced since, the sha256 of every file is checked."""
    d = index_folder(root, metadata_hash, mode)
    full = not same_host
    if same_host and verified:
        try:
            full = identity(d) != verified
        except OSError:
            full = True
    return _checked(d, metadata_hash, mode, full)
