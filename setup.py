"""Build hook for the optional native matching kernel (see docs/performance.md).

The kernel is plain C99 against the CPython API, compiled by setuptools on install. If no
compiler is available the build still succeeds and metacurate uses its pure-Python matcher,
which gives identical results (tested), only slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "metacurate.kernel._native",
            sources=["src/metacurate/kernel/_native.c"],
            extra_compile_args=["-O3", "-std=c99"],
            optional=True,
        )
    ]
)
