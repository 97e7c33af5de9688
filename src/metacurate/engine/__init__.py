"""Engines schedule tasks and nothing else: a stage hands them a task function and items; the
task functions (``match.task``, ``balance.task``) know nothing of where they run.

An engine is opened once per command and shared by its stages. It calls ``fn(item,
checkpoint)``: ``checkpoint(name)`` is a hook the caller (a test) hands to the engine to act at
named points (the kill-and-resume tests SIGKILL there); by default it does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol, TypeVar

from metacurate.config import EngineConfig

T = TypeVar("T")
R = TypeVar("R")

#: ``checkpoint(name)``: called by tasks and drivers at named points.
Checkpoint = Callable[[str], None]


def no_checkpoint(name: str) -> None:
    """The default hook: nothing happens at any point."""


class Engine(Protocol):
    checkpoint: Checkpoint

    def map(self, fn: Callable[[T, Checkpoint], R], items: Sequence[T]) -> Iterator[R]: ...

    def submit(self, fn: Callable[[T], R], arg: T) -> Callable[[], R]: ...

    def warm(self, n_items: int) -> None: ...

    def describe(self) -> dict: ...

    def close(self) -> None: ...


def open_engine(
    config: EngineConfig, checkpoint: Checkpoint | None = None, preload: Sequence[str] = ()
) -> Engine:
    """A ``LocalEngine``, ``RayEngine`` or ``SlurmEngine``; close it when the command is done.
    ``preload``: the modules the stages' tasks import, imported by local processes started
    ahead (``warm``)."""
    config.check()
    hook = checkpoint or no_checkpoint
    if config.kind == "ray":
        from metacurate.engine.ray_engine import RayEngine

        return RayEngine(
            config.workers, config.ray_address, hook, config.in_flight, config.stall_seconds
        )
    if config.kind == "slurm":
        from metacurate.engine.slurm_engine import SlurmEngine

        return SlurmEngine(config, hook)
    from metacurate.engine.local import LocalEngine

    return LocalEngine(config.resolved_workers, hook, config.start_method, preload)


@contextmanager
def engine_for(engine: Engine | None, config: EngineConfig) -> Iterator[Engine]:
    """``engine`` as it is, or a new one for this stage only (closed afterwards)."""
    if engine is not None:
        yield engine
        return
    own = open_engine(config)
    try:
        yield own
    finally:
        own.close()
