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

import os
import socket
import sys
from pathlib import Path

from metacurate.errors import MetacurateError
from metacurate.files import discard
from metacurate.kernel import native as _native
from metacurate.kernel import native_available
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
    kernel = getattr(_native, "KERNEL_VERSION", 0)
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


def load_or_build(
    metadata: Metadata, folder: str | Path | None, mode: str = "metaclip1"
) -> Matcher:
    """The matcher for ``metadata``: mapped from ``folder`` when saved there before and sound
    (sha256 and structure checked), else built and saved there; built in memory when
    ``folder`` is None or the kernel is not compiled."""
    if folder is None or not native_available():
        return Matcher(metadata, mode=mode)
    d = index_dir(folder, metadata.hash, mode)
    matcher = _checked(d, metadata, mode, full=True)
    if matcher is not None:
        return matcher
    Matcher(metadata, mode=mode).save(d)
    return Matcher.load(d, metadata, mode=mode)


def verified_index(metadata: Metadata, root: Path, mode: str = "metaclip1") -> Matcher:
    """The driver's call, once per run: the index in the cache folder ``root``, checked
    against its checksums (rebuilt when absent or damaged), memory-mapped."""
    return load_or_build(metadata, root / "index", mode)


def host() -> str:
    """This machine's name (a worker on the driver's machine shares the driver's cache)."""
    return socket.gethostname()


def mapped_index(metadata_hash: str, root: Path, mode: str, same_host: bool) -> Matcher | None:
    """A worker's index from the cache folder ``root``, or None when absent or damaged (the
    caller builds it from the metadata). On the driver's machine the driver verified it this
    run, so only sizes are checked again; on another machine (a Ray node with its own cache)
    the sha256 of every file is checked."""
    return _checked(index_folder(root, metadata_hash, mode), metadata_hash, mode, not same_host)
