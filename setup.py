"""Build hook for the optional native kernels (see docs/performance.md).

The kernels are plain C99 against the CPython API, compiled by setuptools on install:
``_native`` (metaclip1 matching, uid hashing, the keep decision), ``_worldwide`` (the
metaclip2 modes' unit-span matcher) and ``_htmlscan`` (extract's streaming `<img>` scan). If no
compiler is available the build still succeeds and metacurate uses its pure-Python paths,
which give identical results (tested), only slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "metacurate.kernel._native",
            sources=["src/metacurate/kernel/_native.c"],
            extra_compile_args=["-O3", "-std=c99"],
            optional=True,
        ),
        Extension(
            "metacurate.kernel._htmlscan",
            sources=["src/metacurate/kernel/_htmlscan.c"],
            extra_compile_args=["-O3", "-std=c99"],
            optional=True,
        ),
        Extension(
            "metacurate.kernel._worldwide",
            sources=["src/metacurate/kernel/_worldwide.c"],
            extra_compile_args=["-O3", "-std=c99"],
            optional=True,
        ),
    ]
)
