"""Compile a variant of the kernel into a copy of the package, for the sanitizer and fuzz runs.

    python fuzz/build_kernel.py OUT [--sanitize] [--coverage] [--window N --compact N]
                                    [--source FILE]

Copies ``src/metacurate`` to ``OUT/metacurate`` and compiles ``_native.c`` (or ``--source``)
into it with gcc, and every other extension that setup.py declares (the HTML scan, the
worldwide matcher, ...) with the same flags but the coverage ones, so ``PYTHONPATH=OUT``
imports that build instead of the installed one:

- ``--sanitize``: ``-fsanitize=address,undefined -fno-sanitize-recover=all`` (run Python with
  ``LD_PRELOAD=$(gcc -print-file-name=libasan.so)``, see ``.ci/sanitize.sh``);
- ``--coverage``: gcc's ``-fsanitize-coverage=trace-pc`` plus ``fuzz/coverage.c``, which feeds
  the edges to atheris's libFuzzer (``fuzz/harness.py`` registers them);
- ``--window``/``--compact``: the kernel's token-window and id-compaction sizes, tiny in the
  fuzz and sanitizer builds so short inputs reach the refill, growth and compaction paths.

:func:`compile_kernel` is also used by ``benchmarks/bench_kernel_memory.py`` to build the
kernel of an older commit with exactly the flags of the new one.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "src" / "metacurate" / "kernel" / "_native.c"
SANITIZE = [
    "-O1",
    "-g",
    "-fno-omit-frame-pointer",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
]


def compile_kernel(source: Path, out: Path, extra: list[str] | None = None) -> Path:
    """Compile ``source`` to the extension file ``out`` with Python's flags, -O3 -std=c99 (as
    setup.py) and ``extra`` (later flags win)."""
    cflags = (sysconfig.get_config_var("CFLAGS") or "").split()
    cmd = [
        sysconfig.get_config_var("CC").split()[0] or "gcc",
        *cflags,
        "-fPIC",
        f"-I{sysconfig.get_paths()['include']}",
        "-O3",
        "-std=c99",
        *(extra or []),
        "-shared",
        *[str(s) for s in ([source] if isinstance(source, Path) else source)],
        "-o",
        str(out),
    ]
    subprocess.run(cmd, check=True)
    return out


def build_package(out: Path, flags: list[str], source: Path = SOURCE, extra_sources=()) -> Path:
    """``OUT/metacurate`` with the kernel compiled from ``source`` (plus ``extra_sources``)."""
    pkg = out / "metacurate"
    if pkg.exists():
        shutil.rmtree(pkg)
    shutil.copytree(
        REPO / "src" / "metacurate", pkg, ignore=shutil.ignore_patterns("*.so", "__pycache__")
    )
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    so = pkg / "kernel" / f"_native{suffix}"
    compile_kernel([source, *extra_sources], so, flags)
    others = [f for f in flags if not f.startswith("-fsanitize-coverage")]
    for name, sources in setup_extensions():
        if name != "_native":
            compile_kernel([REPO / s for s in sources], pkg / "kernel" / f"{name}{suffix}", others)
    return so


def setup_extensions() -> list[tuple[str, list[str]]]:
    """``(module name, sources)`` of every kernel extension in setup.py, read without building."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from distutils.core import run_setup

    dist = run_setup(str(REPO / "setup.py"), stop_after="init")
    return [(e.name.rsplit(".", 1)[1], list(e.sources)) for e in dist.ext_modules]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--sanitize", action="store_true")
    ap.add_argument("--coverage", action="store_true")
    ap.add_argument("--window", type=int, default=None, help="WINDOW_TOKENS (default 1024)")
    ap.add_argument("--compact", type=int, default=None, help="COMPACT_IDS (default 4096)")
    ap.add_argument("--source", type=Path, default=SOURCE)
    args = ap.parse_args()
    flags: list[str] = []
    extra_sources: list[Path] = []
    if args.sanitize:
        flags += SANITIZE
    if args.coverage:
        flags += ["-fsanitize-coverage=trace-pc"]
        extra_sources.append(Path(__file__).resolve().parent / "coverage.c")
    if args.window is not None:
        flags.append(f"-DWINDOW_TOKENS={args.window}")
    if args.compact is not None:
        flags.append(f"-DCOMPACT_IDS={args.compact}")
    args.out.mkdir(parents=True, exist_ok=True)
    print(build_package(args.out, flags, args.source, extra_sources))


if __name__ == "__main__":
    main()
