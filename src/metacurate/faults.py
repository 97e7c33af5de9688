"""Crash points for the kill-and-resume tests (and for anyone checking resume by hand).

``METACURATE_CRASH_AT=NAME:K`` makes the process SIGKILL itself the K-th time it passes the
point NAME (``match-batch``, ``count-file``, ``balance-batch``, ``balance-record``). Unset, a
checkpoint is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_passed: Counter[str] = Counter()


def checkpoint(name: str) -> None:
    """Die here (SIGKILL, no cleanup) when METACURATE_CRASH_AT names this point and count."""
    spec = os.environ.get("METACURATE_CRASH_AT")
    if not spec:
        return
    point, _, k = spec.partition(":")
    if point != name:
        return
    _passed[name] += 1
    if _passed[name] == int(k or 1):
        os.kill(os.getpid(), signal.SIGKILL)
