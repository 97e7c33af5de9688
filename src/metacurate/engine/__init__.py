"""Engines schedule tasks; the tasks themselves live in ``tasks.py`` and know nothing of where
they run. An engine is opened once per command and shared by its stages."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol, TypeVar

from metacurate.errors import MetacurateError

T = TypeVar("T")
R = TypeVar("R")

ENGINES = ("local", "ray")


class Engine(Protocol):
    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]: ...

    def close(self) -> None: ...


def open_engine(kind: str = "local", workers: int = 1, ray_address: str | None = None) -> Engine:
    """A ``LocalEngine`` or a ``RayEngine``; close it when the command is done."""
    if kind == "local":
        from metacurate.engine.local import LocalEngine

        return LocalEngine(workers)
    if kind == "ray":
        from metacurate.engine.ray_engine import RayEngine

        return RayEngine(workers, ray_address)
    raise MetacurateError(f"unknown engine {kind!r}; choose one of {', '.join(ENGINES)}")


@contextmanager
def engine_for(
    engine: Engine | None, kind: str, workers: int, ray_address: str | None
) -> Iterator[Engine]:
    """``engine`` as it is, or a new one for this stage only (closed afterwards)."""
    if engine is not None:
        yield engine
        return
    own = open_engine(kind, workers, ray_address)
    try:
        yield own
    finally:
        own.close()
