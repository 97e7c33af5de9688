"""Progress bars of the stages: tqdm's on stderr when shown, else a stand-in that does
nothing, without importing tqdm (~0.04 s of a run's start-up: tqdm's version lookup reads
the installed package metadata)."""

from __future__ import annotations

import sys
from typing import Any


class _NoBar:
    """What a stage calls on a bar, doing nothing."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None

    def set_postfix(self, **kw: Any) -> None:
        return None


def progress_bar(total: int, desc: str, unit: str, show: bool | None) -> Any:
    """A bar of ``total`` steps; ``show`` None: only when stderr is a terminal."""
    if not (sys.stderr.isatty() if show is None else show):
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit)
