"""Engines schedule tasks; the tasks themselves live in ``tasks.py`` and know nothing of where
they run."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from metacurate.errors import MetacurateError

T = TypeVar("T")
R = TypeVar("R")

ENGINES = ("local", "ray")


def run_tasks(
    fn: Callable[[T], R],
    items: Sequence[T],
    workers: int,
    engine: str = "local",
    ray_address: str | None = None,
) -> Iterator[R]:
    """Yield ``fn(item)`` for every item (completion order) on the chosen engine."""
    if engine == "local":
        from metacurate.engine.local import run_local

        return run_local(fn, items, workers)
    if engine == "ray":
        from metacurate.engine.ray_engine import run_ray

        return run_ray(fn, items, workers, ray_address)
    raise MetacurateError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
