"""What an output folder may touch: its own files only, never the inputs.

- ``--out`` inside a folder given as input, or an input inside ``--out``: refused (the next run
  would read its own outputs as pool rows, or clobber an input).
- Inputs are deduplicated by device and inode (a file and a symbolic or hard link to it are
  one input).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from metacurate.errors import MetacurateError
from metacurate.pool.sources import Source
from metacurate.storage import is_remote, location


def _real(path: str) -> str:
    """The real path of a local file; a remote URI as it is."""
    return str(location(path)) if is_remote(path) else os.path.realpath(path)


def _inside(child: str, parent: str) -> bool:
    if is_remote(child) or is_remote(parent):
        return child == parent or child.startswith(parent.rstrip("/") + "/")
    return os.path.commonpath([child, parent]) == parent


def check_out_apart(
    pool: Sequence[str], sources: Sequence[Source], out: str, endpoint: str | None = None
) -> None:
    """Refuse an output folder that overlaps the inputs (``endpoint``: of an S3 store)."""
    real_out = _real(out)
    for arg in pool:
        real = _real(arg)
        if _inside(real_out, real) and location(real, endpoint).is_dir():
            raise MetacurateError(
                f"--out {out} is inside the input folder {arg}: the next run would read its "
                "own outputs as pool rows; put the output folder outside the pool"
            )
    for src in sources:
        if _inside(_real(src.path), real_out):
            raise MetacurateError(
                f"input {src.path} is inside the output folder {out}; move it out of --out or "
                "use another --out"
            )


def _identity(path: str) -> object:
    """What makes two paths one file: device and inode locally (symbolic and hard links
    alike), the URI remotely."""
    if is_remote(path):
        return path
    try:
        st = os.stat(path)
    except OSError:
        return _real(path)  # the reader names the problem
    return (st.st_dev, st.st_ino)


def dedupe_sources(sources: Sequence[Source]) -> list[Source]:
    """Each file (and row-group part) once, in first-seen order, however many links name it;
    says which were dropped."""
    seen: dict[tuple[object, object], Source] = {}
    for src in sources:
        key = (_identity(src.path), src.row_groups)
        if key in seen:
            print(
                f"metacurate: {src.path} is the same file as {seen[key].path}; read once",
                file=sys.stderr,
            )
            continue
        seen[key] = src
    return list(seen.values())
