"""Error types. ``MetacurateError`` is the one type for mistakes the user can fix; the CLI prints
it as one line on stderr and exits with status 2. Anything else that escapes is a bug and keeps
its traceback.

Two kinds are told apart because only one of them may be skipped:

- :class:`InputError`: an input file itself is unreadable (corrupt, not UTF-8, missing column).
  ``--skip-bad-files`` records it and goes on; it is retried by the next run.
- :class:`EnvironmentFault`: the run's surroundings failed (the output folder, the disk, memory,
  a killed worker). It always stops the run; the message names the path and the fix.
"""

from __future__ import annotations

import errno


class MetacurateError(Exception):
    """A mistake the user can fix; the message says what, where and how."""


class InputError(MetacurateError):
    """An input file cannot be read as a pool file (skippable with ``--skip-bad-files``)."""


class EnvironmentFault(MetacurateError):
    """The output folder, disk, memory or a worker failed; never skipped."""

    @classmethod
    def from_oserror(cls, exc: OSError, doing: str = "writing") -> EnvironmentFault:
        """One line naming the path and what to do for the usual causes."""
        path = exc.filename or "the output folder"
        fixes = {
            errno.ENOSPC: "no space left on the device: free space or use another --out",
            errno.EDQUOT: "disk quota exceeded: free space or use another --out",
            errno.EROFS: "the file system is read-only: use a writable --out",
            errno.EACCES: "permission denied: use a folder you can write, or fix permissions",
            errno.EPERM: "operation not permitted (immutable or protected file): use another --out",
            errno.ENOTDIR: "a path component is a file, not a folder: pass a folder as --out",
            errno.EISDIR: "a folder is in the way of a file: remove it or use another --out",
            errno.ENOMEM: "out of memory: use fewer --workers or a smaller --batch-rows",
            errno.EMFILE: "too many open files: use fewer --workers or raise 'ulimit -n'",
        }
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if exc.filename is None and ("AWS Error" in text or "bucket" in text):  # an object store
            return cls(
                f"the object store: error while {doing}: {text}; check that the bucket exists "
                "(create it first), the endpoint (--s3-endpoint, AWS_ENDPOINT_URL) and the "
                "credentials"
            )
        fix = fixes.get(exc.errno or -1, exc.strerror or str(exc))
        return cls(f"{path}: error while {doing}: {fix}")


def check_utf8_path(path: str, what: str = "path") -> None:
    """Refuse a file or folder name that is not valid UTF-8 (a latin-1 byte in the name):
    runs record paths as UTF-8 text and Arrow's file systems need it."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        shown = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise MetacurateError(
            f"{what} {shown}: the name is not valid UTF-8; rename it (e.g. with convmv), "
            "since runs record their paths as UTF-8 text"
        ) from None
