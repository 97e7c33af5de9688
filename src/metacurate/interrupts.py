"""Ctrl-C, never lost and never more than one line. Python raises ``KeyboardInterrupt``
wherever the main thread is when the signal is handled: inside a weakref callback or a
``__del__`` it is printed as "Exception ignored ..." and dropped (the run would go on to exit
0), and before the command's own handler is installed, while its modules are imported, Python's
default handler ends it with a traceback (or drops it the same way).

- :func:`record_from_start`, the command's first step, before it imports anything else: from
  then on a SIGINT is only recorded (nothing is raised half-way through an import); the
  command ends as interrupted once :func:`noticed_interrupts` takes over, or as it leaves;
  once interrupted, Python's "Exception ignored" reports (library code cut short) are not
  printed.
- :func:`noticed_interrupts`, around the command's work: SIGINT raises ``KeyboardInterrupt``;
  one that Python would drop is taken from ``sys.unraisablehook`` (no "Exception ignored"
  lines), recorded, and raised again a moment later outside the callback: the run stops.

This module imports only the standard library: the entry imports it first.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

_REDELIVERY = 0.05  # seconds


class _Recorder:
    """The SIGINT handler of :func:`record_from_start` and what it saw: the state lives with
    the handler (which is per process, as signals are), not in the module."""

    def __init__(self) -> None:
        #: a Ctrl-C outside ``noticed_interrupts``
        self.recorded = threading.Event()
        #: any Ctrl-C of this process, recorded or raised
        self.any = threading.Event()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.recorded.set()
        self.any.set()

    def unraisable(self, unraisable: Any) -> None:
        """The command's ``sys.unraisablehook``: once it is interrupted, what Python would
        print as "Exception ignored" is the interrupt's doing (library code cut short: a
        ``multiprocessing`` finalizer half made, seen once in 100 Ctrl-C trials) and is not
        printed; before, it is, as always."""
        if self.any.is_set() or isinstance(unraisable.exc_value, KeyboardInterrupt):
            self.any.set()
            return
        sys.__unraisablehook__(unraisable)


def record_from_start() -> None:
    """In the command's process, first of all: every later SIGINT is recorded, none raised
    (unless SIGINT is ignored, as under ``nohup``, or this is not the main thread)."""
    current = signal.getsignal(signal.SIGINT)
    if current is signal.SIG_IGN or isinstance(current, _Recorder):
        return
    recorder = _Recorder()
    with suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGINT, recorder)
        sys.unraisablehook = recorder.unraisable


def interrupted_outside() -> bool:
    """Whether a SIGINT came while only :func:`record_from_start` was listening."""
    current = signal.getsignal(signal.SIGINT)
    return isinstance(current, _Recorder) and current.recorded.is_set()


@contextmanager
def noticed_interrupts() -> Iterator[threading.Event]:
    """For the ``with`` block: SIGINT raises ``KeyboardInterrupt`` as usual and sets the
    yielded event; a ``KeyboardInterrupt`` that Python would drop (raised in a weakref
    callback, a ``__del__``, the import system's own callbacks) is recorded, not printed, and
    raised again a moment later, by a timer of the kernel's (SIGALRM: a thread would make the
    engine spawn its workers instead of forking them). A Ctrl-C recorded before the block
    raises at once. Outside the main thread, where no handler can be set, or where SIGINT is
    ignored (``nohup``, a shell's background job): nothing changes."""
    seen = threading.Event()
    armed = False
    recorder = signal.getsignal(signal.SIGINT)
    if not isinstance(recorder, _Recorder):
        recorder = _Recorder()  # no command entry before: nothing recorded

    def again_later() -> None:
        nonlocal armed
        armed = True
        signal.setitimer(signal.ITIMER_REAL, _REDELIVERY)

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        seen.set()
        recorder.any.set()
        code = frame.f_code if frame is not None else None
        if code is not None and (code.co_filename.startswith("<frozen importlib") or code in ours):
            # raised in the import system's own callbacks it is dropped and can leave a
            # module lock held (a thread importing then waits forever); in the hook below,
            # it would be printed: raise it again a moment later, elsewhere
            again_later()
            return
        raise KeyboardInterrupt

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        nonlocal armed
        if not armed:  # not ours
            if callable(previous_alarm):
                previous_alarm(signum, frame)
            return
        armed = False
        on_sigint(signal.SIGINT, frame)

    previous_hook = sys.unraisablehook

    def on_unraisable(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):  # ours, dropped by Python
            seen.set()
            recorder.any.set()
            again_later()
            return
        if seen.is_set():  # the interrupt's doing (see _Recorder.unraisable)
            return
        previous_hook(unraisable)

    ours = (on_sigint.__code__, on_alarm.__code__, on_unraisable.__code__)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield seen
        return
    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread
        yield seen
        return
    previous_alarm = signal.signal(signal.SIGALRM, on_alarm)
    sys.unraisablehook = on_unraisable
    try:
        if recorder.recorded.is_set():  # a Ctrl-C while the command started
            seen.set()
            raise KeyboardInterrupt
        yield seen
    finally:
        if armed:  # the block is over: its caller reads ``seen``
            signal.setitimer(signal.ITIMER_REAL, 0)
        sys.unraisablehook = previous_hook
        signal.signal(signal.SIGALRM, previous_alarm)
        signal.signal(signal.SIGINT, previous)
