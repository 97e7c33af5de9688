"""Ctrl-C, never lost: Python raises ``KeyboardInterrupt`` wherever the main thread is when
the signal is handled; inside a weakref callback or a ``__del__`` it is printed as "Exception
ignored" and dropped, and the run would go on to exit 0. :func:`noticed_interrupts` records
every SIGINT, so the command ends as interrupted (exit 130) even when one was dropped."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def noticed_interrupts() -> Iterator[threading.Event]:
    """For the ``with`` block: SIGINT raises ``KeyboardInterrupt`` as usual and sets the
    yielded event (outside the main thread, where no handler can be set, or where SIGINT is
    ignored, as under ``nohup``: nothing changes)."""
    seen = threading.Event()

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        seen.set()
        if frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
            # raised in the import system's own callbacks it is dropped and can leave a
            # module lock held (a thread importing then waits forever): deliver it again
            threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
            return
        raise KeyboardInterrupt

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # nohup, a shell's background job
        yield seen
        return
    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread
        yield seen
        return
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)
