"""atheris entry point: ``python -m fuzz.harness [libFuzzer flags] CORPUS_DIR``.

Runs :func:`fuzz.targets.run` on every input. When the kernel was built with
``fuzz/build_kernel.py --coverage``, its gcc edge counters are registered with atheris's
libFuzzer on the first input, so the fuzzer is guided by the C code's coverage as well as by
the Python code's. Run it through ``.ci/fuzz.sh`` (sanitizer build, tiny token window).
"""

from __future__ import annotations

import ctypes
import sys

import atheris

with atheris.instrument_imports(include=["fuzz", "metacurate"]):
    from fuzz import targets
    from metacurate.kernel import native


def register_kernel_coverage() -> bool:
    """Hand the kernel's counters to libFuzzer; False when the kernel has none."""
    kernel = ctypes.CDLL(native.__file__)
    if not hasattr(kernel, "metacurate_coverage"):
        return False
    counters, pcs, n = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_size_t()
    kernel.metacurate_coverage(ctypes.byref(counters), ctypes.byref(pcs), ctypes.byref(n))
    fuzzer = ctypes.CDLL(sys.modules["atheris.core_with_libfuzzer"].__file__)
    start, pc_start = counters.value, pcs.value
    fuzzer.__sanitizer_cov_8bit_counters_init(
        ctypes.c_void_p(start), ctypes.c_void_p(start + n.value)
    )
    size = ctypes.sizeof(ctypes.c_void_p)
    fuzzer.__sanitizer_cov_pcs_init(
        ctypes.c_void_p(pc_start), ctypes.c_void_p(pc_start + 2 * size * n.value)
    )
    return True


def main() -> None:
    registered = []

    def one_input(data: bytes) -> None:
        if not registered:
            registered.append(register_kernel_coverage())
            print(f"kernel coverage: {'on' if registered[0] else 'off'}", file=sys.stderr)
        targets.run(data)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
