"""One call handed to an engine's spare process: ``submit(fn, arg)`` starts ``fn(arg)`` and
returns a waiter, a function of no arguments that returns its result (or raises its error).

Engines give this for work that is not a stage's task (the report's explorer section runs so
while the driver makes the other sections). :func:`run_later`, the default where no engine
is at hand, runs the call in this process when the waiter is called.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

R = TypeVar("R")

#: ``submit(fn, arg) -> waiter``.
Submit = Callable[[Callable[[Any], R], Any], Callable[[], R]]


def run_later(fn: Callable[[Any], R], arg: Any) -> Callable[[], R]:
    """The waiter runs ``fn(arg)`` here."""
    return partial(fn, arg)
