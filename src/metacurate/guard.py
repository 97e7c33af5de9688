"""What an output folder may touch: its own files only, never the inputs.

- ``--out`` inside a folder given as input, or an input inside ``--out``: refused (the next run
  would read its own outputs as pool rows, or clobber an input).
- Inputs are deduplicated by real path (a file and a link to it are one input).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from metacurate.errors import MetacurateError
from metacurate.pool.sources import Source


def _inside(child: str, parent: str) -> bool:
    return os.path.commonpath([child, parent]) == parent


def check_out_apart(pool: Sequence[str], sources: Sequence[Source], out: str) -> None:
    """Refuse an output folder that overlaps the inputs."""
    real_out = os.path.realpath(out)
    for arg in pool:
        real = os.path.realpath(arg)
        if os.path.isdir(real) and _inside(real_out, real):
            raise MetacurateError(
                f"--out {out} is inside the input folder {arg}: the next run would read its "
                "own outputs as pool rows; put the output folder outside the pool"
            )
    for src in sources:
        if _inside(os.path.realpath(src.path), real_out):
            raise MetacurateError(
                f"input {src.path} is inside the output folder {out}; move it out of --out or "
                "use another --out"
            )


def dedupe_sources(sources: Sequence[Source]) -> list[Source]:
    """Each real file (and row-group part) once, in first-seen order; says which were dropped."""
    seen: dict[tuple[str, object], Source] = {}
    for src in sources:
        key = (os.path.realpath(src.path), src.row_groups)
        if key in seen:
            print(
                f"metacurate: {src.path} is the same file as {seen[key].path}; read once",
                file=sys.stderr,
            )
            continue
        seen[key] = src
    return list(seen.values())
