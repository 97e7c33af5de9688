"""``python -m tests.reliability.lock_race FOLDER SECONDS``: take and release the output lock of
FOLDER in a loop for SECONDS; while holding it, create ``FOLDER/held`` exclusively (an overlap
if it exists already) and remove it. Prints ``acquired overlaps``."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from metacurate.errors import MetacurateError
from metacurate.lock import output_lock


def race(folder: Path, seconds: float) -> tuple[int, int]:
    held = folder / "held"
    acquired = overlaps = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with output_lock(folder):
                acquired += 1
                try:
                    fd = os.open(held, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    overlaps += 1
                    continue
                os.close(fd)
                time.sleep(0.0005)
                os.unlink(held)
        except MetacurateError:
            pass
    return acquired, overlaps


if __name__ == "__main__":
    a, o = race(Path(sys.argv[1]), float(sys.argv[2]))
    print(a, o)
