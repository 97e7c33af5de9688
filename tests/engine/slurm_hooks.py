"""Checkpoint hooks for the Slurm engine tests: they travel with the task to the compute node
(pickled by reference: this module must be importable there, as it is from the repo root)."""

from __future__ import annotations

import os
import time


class SleepInElement:
    """``checkpoint(name)``: in array element ``element`` only (an int, or a tuple of them),
    sleep ``seconds`` the first time ``name == point`` (a task that runs long: for its time
    limit, or to be cancelled)."""

    def __init__(
        self, element: int | tuple[int, ...], seconds: float, point: str = "match-batch"
    ) -> None:
        elements = element if isinstance(element, tuple) else (element,)
        self.elements, self.seconds, self.point = {str(e) for e in elements}, seconds, point

    def __call__(self, name: str) -> None:
        if name == self.point and os.environ.get("SLURM_ARRAY_TASK_ID") in self.elements:
            time.sleep(self.seconds)


class HogInElement:
    """``checkpoint(name)``: in array element ``element``, the first time ``name == point``,
    hold ``mb`` MiB of touched memory for ``seconds`` (a task over its --slurm-mem)."""

    def __init__(self, element: int, mb: int, seconds: float, point: str = "match-batch") -> None:
        self.element, self.mb, self.seconds, self.point = str(element), mb, seconds, point

    def __call__(self, name: str) -> None:
        if name == self.point and os.environ.get("SLURM_ARRAY_TASK_ID") == self.element:
            block = bytearray(self.mb * 2**20)
            block[::4096] = b"x" * len(block[::4096])
            time.sleep(self.seconds)
