"""The optional compiled kernel (``_native.c``): matching, uid hashing and the keep decision.

It lives here, apart from the stages that use it (``match``, ``pool.uid``, ``balance``), so no
stage imports a private module of another. ``native`` is the extension module, or ``None`` when
it was not compiled (then every caller uses its pure-Python path, which gives the same results);
``worldwide`` is ``_worldwide.c``'s (the metaclip2 modes' unit-span matcher) and ``htmlscan``
``_htmlscan.c``'s (extract's ``<img>`` scan), each ``None`` when not compiled.
The kernel checks every buffer it is given and refuses a malformed one with ``ValueError``;
:mod:`metacurate.kernel.calls` (the only caller of the compiled modules) turns that into
``MetacurateError``, and :mod:`metacurate.kernel.tables` checks cached matcher tables when
they are loaded (docs/kernel.md).

Two switches, both read when asked (never cached):

- ``METACURATE_NO_NATIVE=1`` makes :func:`native_available` false (to compare implementations);
- ``METACURATE_REQUIRE_NATIVE=1`` makes :func:`require_native` (called by every command) fail
  when the kernel was not compiled, so CI notices a build that silently fell back.
"""

from __future__ import annotations

import os

from metacurate.errors import MetacurateError

try:  # the compiled kernels are optional: see setup.py
    from metacurate.kernel import _native as native
except ImportError:  # pragma: no cover - exercised when no compiler was available
    native = None
try:
    from metacurate.kernel import _worldwide as worldwide
except ImportError:  # pragma: no cover - exercised when no compiler was available
    worldwide = None
try:
    from metacurate.kernel import _htmlscan as htmlscan
except ImportError:  # pragma: no cover - exercised when no compiler was available
    htmlscan = None

__all__ = [
    "htmlscan",
    "implementation",
    "native",
    "native_available",
    "require_native",
    "worldwide",
]


def native_available() -> bool:
    """True when the compiled kernel was built and may be used."""
    return native is not None and os.environ.get("METACURATE_NO_NATIVE", "") in ("", "0")


def require_native() -> None:
    """Fail when ``METACURATE_REQUIRE_NATIVE=1`` and the kernel is missing."""
    if os.environ.get("METACURATE_REQUIRE_NATIVE", "") not in ("", "0") and native is None:
        raise MetacurateError(
            "METACURATE_REQUIRE_NATIVE=1 but the compiled kernel metacurate.kernel._native is "
            "missing; reinstall with a C compiler (gcc) available: pip install --force-reinstall ."
        )


def implementation() -> str:
    """Which matcher runs: ``native`` (compiled kernel) or ``python`` (the fallback)."""
    return "native" if native_available() else "python"
