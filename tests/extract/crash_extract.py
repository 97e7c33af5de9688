"""``python tests/extract/crash_extract.py K OUT FILE...``: extract FILEs into OUT in this
process (one worker) and SIGKILL itself the K-th time a part is written, before its marker."""

from __future__ import annotations

import os
import signal
import sys


def main(argv: list[str]) -> int:
    from metacurate.extract import extract

    k, out, *files = argv
    passed = 0

    def crash(name: str) -> None:
        nonlocal passed
        if name == "extract-part":
            passed += 1
            if passed == int(k):
                os.kill(os.getpid(), signal.SIGKILL)

    extract(files, out, shard_rows=3, progress=False, workers=1, checkpoint=crash)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
