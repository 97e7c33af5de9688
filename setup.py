"""Build hook for the optional native kernels (see docs/performance.md).

The kernels are plain C99 against the CPython API, compiled by setuptools on install:
``_native`` (metaclip1 matching, uid hashing, the keep decision), ``_worldwide`` (the
metaclip2 modes' unit-span matcher) and ``_htmlscan`` (extract's streaming `<img>` scan, from
``_htmlscan.c``, its WAT record scan, from ``_watscan.c``, and its row ids, ``_pairuid.c``).
If no compiler is available the build still succeeds and metacurate uses its pure-Python
paths, which give identical results (tested), only slower. ``_native`` and ``_worldwide`` include
``kernel_common.h`` (the helpers they share): ``depends`` rebuilds both when it changes and
puts it in the source distribution.
"""

from setuptools import Extension, setup

KERNEL = "src/metacurate/kernel"
SHARED = {"depends": [f"{KERNEL}/kernel_common.h"], "include_dirs": [KERNEL]}

setup(
    ext_modules=[
        Extension(
            "metacurate.kernel._native",
            sources=[f"{KERNEL}/_native.c"],
            extra_compile_args=["-O3", "-std=c99"],
            **SHARED,
            optional=True,
        ),
        Extension(
            "metacurate.kernel._htmlscan",
            sources=[f"{KERNEL}/_htmlscan.c", f"{KERNEL}/_watscan.c", f"{KERNEL}/_pairuid.c"],
            extra_compile_args=["-O3", "-std=c99"],
            optional=True,
        ),
        Extension(
            "metacurate.kernel._worldwide",
            sources=[f"{KERNEL}/_worldwide.c"],
            extra_compile_args=["-O3", "-std=c99"],
            **SHARED,
            optional=True,
        ),
    ]
)
