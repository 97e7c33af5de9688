"""The scan's functions, compiled (metacurate.kernel.htmlscan) or pure Python, chosen once per
file, and the byte-level facts the charset rules need (see :mod:`.attrs`)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from metacurate.extract.pairs import ImagePair
from metacurate.extract.scan import ScanResult, scan_html_python

# the compiled scan is optional (setup.py); the pure-Python one gives equal results
from metacurate.kernel import calls  # the only caller of the compiled scan

__all__ = [
    "CHARSET_WINDOW",
    "DOUBLE_BYTE",
    "HAS_CHARSET",
    "HAS_CP1252_HOLES",
    "ScanKernel",
    "byte_facts",
    "byte_facts_python",
    "decodes",
    "native_scan_available",
    "scan_html",
    "scan_kernel",
    "strict_decodes",
    "utf8_valid",
]


calls.wat_scan_pair_type(ImagePair)  # the WAT scan returns simple pages' pairs ready


def native_scan_available() -> bool:
    """True when the compiled scan was built and is not switched off (METACURATE_NO_NATIVE)."""
    return calls.HTMLSCAN_COMPILED and os.environ.get("METACURATE_NO_NATIVE", "") in ("", "0")


@dataclass(frozen=True)
class ScanKernel:
    """The scan's functions, compiled or pure-Python, chosen once (so a loop over many pages
    reads METACURATE_NO_NATIVE once): see :func:`scan_kernel`."""

    native: bool
    scan: Callable[[bytes], ScanResult | None]
    facts: Callable[[bytes], int]
    utf8_valid: Callable[[bytes], bool]
    #: the compiled WAT record scan (None: the pure-Python way, see `wat.read_wat`)
    wat_scan: Callable[[bytes], Any] | None = None

    def strict_decodes(self, data: bytes, codec: str) -> bool:
        """Whether ``data`` decodes with ``codec`` (a Python codec name) without an error."""
        if codec in DOUBLE_BYTE and self.native:
            return calls.html_dbcs_valid(data, _table(codec))  # type: ignore[misc]
        return decodes(data, codec)


def scan_kernel() -> ScanKernel:
    """The compiled functions when built and not switched off, else the pure-Python ones."""
    if native_scan_available():
        return ScanKernel(
            True,
            calls.html_scan,  # type: ignore[arg-type]
            calls.html_facts,  # type: ignore[arg-type]
            calls.html_utf8_valid,  # type: ignore[arg-type]
            calls.wat_scan,
        )
    return ScanKernel(False, scan_html_python, byte_facts_python, _utf8_valid_python)


def scan_html(data: bytes) -> ScanResult | None:
    """The compiled scan when built, else :func:`scan_html_python` (the same results)."""
    return scan_kernel().scan(data)


#: :func:`byte_facts` flags
HAS_CHARSET, HAS_CP1252_HOLES = 1, 2
#: The reference takes a `<meta>` charset from the first 1024 bytes only (resiliparse
#: `detect_encoding`, as the HTML standard's prescan); + the length of "charset".
CHARSET_WINDOW = 1024 + 7
_CHARSET = re.compile(rb"(?i)charset")
_CP1252_HOLES = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


def byte_facts(data: bytes) -> int:
    """Flags: `charset` occurs (any case) in the first :data:`CHARSET_WINDOW` bytes, one of
    windows-1252's five unassigned bytes occurs. Compiled when built, else
    :func:`byte_facts_python`."""
    return scan_kernel().facts(data)


def byte_facts_python(data: bytes) -> int:
    """Pure-Python :func:`byte_facts`."""
    flags = HAS_CHARSET if _CHARSET.search(data, 0, CHARSET_WINDOW) else 0
    return flags | (HAS_CP1252_HOLES if _CP1252_HOLES.search(data) else 0)


#: Double-byte charsets whose strict decoding :func:`strict_decodes` checks with a table.
DOUBLE_BYTE = ("gbk", "gb2312", "big5", "cp949", "shift_jis", "cp932")


@cache
def _table(codec: str) -> bytes:
    """256 flags (valid single byte) + 65536 (valid lead/trail pair), from Python's codec."""
    flags = bytearray(256 + 65536)
    for lead in range(256):
        if decodes(bytes((lead,)), codec):
            flags[lead] = 1
            continue
        for trail in range(256):
            flags[256 + lead * 256 + trail] = decodes(bytes((lead, trail)), codec)
    return bytes(flags)


def decodes(data: bytes, codec: str) -> bool:
    """Whether ``data`` decodes with ``codec`` without an error (Python's own decoder)."""
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def strict_decodes(data: bytes, codec: str) -> bool:
    """Whether ``data`` decodes with ``codec`` (a Python codec name) without an error; double-
    byte charsets are checked by the compiled kernel against a table of the codec's valid bytes."""
    return scan_kernel().strict_decodes(data, codec)


def _utf8_valid_python(data: bytes) -> bool:
    return decodes(data, "utf-8")


def utf8_valid(data: bytes) -> bool:
    """Whether ``data`` decodes as UTF-8 without an error."""
    return scan_kernel().utf8_valid(data)
