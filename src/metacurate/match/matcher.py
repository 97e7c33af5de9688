"""The exact matcher: ``Matcher(metadata, mode).match(text)`` and ``.match_batch(texts)``.

``mode="metaclip1"`` (the default) is implemented in ``metaclip1.py``; ``"metaclip2"`` and
``"metaclip2-kana"`` (Meta CLIP 2, semantics.md section 4) give a
:class:`~metacurate.match.metaclip2.Metaclip2Matcher`, with the same interface (``metaclip2.py``).

Both implementations use the same idea (see ``_native.c`` for why it is exact): split
``spacing(text)`` into space-separated tokens and look up growing token spans in a table of
entries and entry prefixes. The native kernel does it on Arrow buffers with no Python object
per caption; the pure-Python one is the fallback when the kernel is not compiled, and the
tests hold both to the naive loop of semantics.md.
"""

from __future__ import annotations

from pathlib import Path

from metacurate.kernel import native_available
from metacurate.match.metaclip1 import (
    INDEX_FORMAT,
    INDEX_VERSION,
    MODES,
    STATUS_EMPTY,
    STATUS_INVALID_UTF8,
    STATUS_NAMES,
    STATUS_NULL,
    STATUS_TEXT,
    BatchMatches,
    Metaclip1Matcher,
    as_arrow_text,
)
from metacurate.metadata.load import Metadata

_METACLIP2_MODES = MODES[1:]  # (scripts.py has them too, but is not needed by metaclip1 runs)


class Matcher(Metaclip1Matcher):
    """Exact substring matcher for one metadata list, in ``mode`` (one of :data:`MODES`).

    ``metadata``: a ``Metadata``, a list of strings, or a path (``str`` / ``Path``; the string
    ``"default"`` is the built-in list). ``native=None`` uses the compiled kernel when
    available, ``False`` forces the pure-Python matcher (same results, slower). A metaclip2
    mode gives a :class:`~metacurate.match.metaclip2.Metaclip2Matcher`.
    """

    def __new__(cls, metadata: object = None, mode: str = "metaclip1", *args, **kwargs):
        """``mode="metaclip2"`` or ``"metaclip2-kana"`` makes a ``Metaclip2Matcher``."""
        if cls is Matcher and mode in _METACLIP2_MODES:
            from metacurate.match.metaclip2 import Metaclip2Matcher  # metaclip1 runs skip it

            return Metaclip2Matcher(metadata, mode, *args, **kwargs)
        return super().__new__(cls)

    @classmethod
    def load(
        cls,
        directory: str | Path,
        metadata: Metadata | str,
        mode: str = "metaclip1",
        verify: bool = True,
    ) -> Metaclip1Matcher:
        """Memory-map an index written by ``save`` (see :meth:`Metaclip1Matcher.load`); a
        metaclip2 mode's is loaded by :meth:`Metaclip2Matcher.load`."""
        if mode in _METACLIP2_MODES:
            from metacurate.match.metaclip2 import Metaclip2Matcher

            return Metaclip2Matcher.load(directory, metadata, mode=mode)
        return super().load(directory, metadata, mode=mode, verify=verify)


__all__ = [
    "INDEX_FORMAT",
    "INDEX_VERSION",
    "MODES",
    "STATUS_EMPTY",
    "STATUS_INVALID_UTF8",
    "STATUS_NAMES",
    "STATUS_NULL",
    "STATUS_TEXT",
    "BatchMatches",
    "Matcher",
    "as_arrow_text",
    "native_available",
]
