"""The matcher's span tables as files: what ``index.json`` records about them and the checks a
table read back from a cache folder must pass before the kernel uses it.

A cache folder is data from disk, so it may be damaged (a crash mid-copy, a disk error, someone
overwriting a file). Two independent checks, both at load, none per batch:

- each ``.npy`` file's dtype, shape and sha256 must be those recorded by ``save`` (catches any
  change of content, including one that leaves a well-formed table: a removed key, a flag bit);
- the kernel's ``validate`` must accept the tables (every slot's key, hash and tag agree, every
  key is reachable and stored once, prefixes are present, id runs are in range, every entry has
  exactly one key). It makes the kernel's own safety independent of ``index.json``, so it runs
  beside the sha256, not after it, in two threads over halves of the table (all release the
  GIL: on two cores the whole check took 0.18-0.2 s for 500k entries, validate alone).

A failure is a :class:`MetacurateError` naming the folder and the problem; ``load_or_build``
answers it by rebuilding the index (it is only a cache).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from metacurate.errors import MetacurateError
from metacurate.kernel.calls import span_validate_ids, span_validate_keys

#: The table files of an index folder and their dtypes (shape: 1-d; ``mask`` has one value).
TABLE_DTYPES: dict[str, np.dtype] = {
    "slots": np.dtype(np.uint8),
    "tags": np.dtype(np.uint16),
    "ids": np.dtype(np.int32),
    "blob": np.dtype(np.uint8),
    "mask": np.dtype(np.uint64),
}

T = TypeVar("T")


def describe(tables: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """What ``index.json`` records per table: dtype, shape and the sha256 of its bytes."""
    return {
        name: {
            "dtype": tables[name].dtype.str,
            "shape": list(tables[name].shape),
            "sha256": hashlib.sha256(memoryview(np.ascontiguousarray(tables[name]))).hexdigest(),
        }
        for name in TABLE_DTYPES
    }


def check_shapes(tables: dict[str, np.ndarray], where: str) -> None:
    """Each table present, 1-d, C-contiguous, of its dtype; ``mask`` holds one value."""
    for name, dtype in TABLE_DTYPES.items():
        arr = tables.get(name)
        if arr is None:
            raise MetacurateError(f"{where}: the {name} table is missing; rebuild the index")
        if arr.dtype != dtype or arr.ndim != 1 or not arr.flags.c_contiguous:
            raise MetacurateError(
                f"{where}: the {name} table has dtype {arr.dtype} and shape {arr.shape}, "
                f"expected a 1-d {dtype} array; rebuild the index"
            )
    if tables["mask"].shape != (1,):
        raise MetacurateError(f"{where}: mask.npy must hold one value; rebuild the index")


def validate(tables: dict[str, np.ndarray], n_entries: int, where: str) -> None:
    """The kernel's full structural check of the tables (see the module docstring)."""
    for wait in validate_parts(tables, n_entries, where, _now):
        wait()


def validate_parts(
    tables: dict[str, np.ndarray],
    n_entries: int,
    where: str,
    submit: Callable[..., Any],
    pieces: int = 2,
) -> list[Callable[[], Any]]:
    """:func:`validate` as ``pieces`` slot ranges of the key checks and one pass of the id
    checks, each handed to ``submit(fn, *args)`` (an executor's; they release the GIL); the
    returned waiters raise what :func:`validate` would. Together the kernel's
    ``validate_keys`` over all slots and ``validate_ids`` check what its ``validate`` does."""
    check_shapes(tables, where)
    what = f"{where}: the matcher index is damaged (delete the folder to rebuild it)"
    n_slots = int(tables["mask"][0]) + 1
    bounds = [n_slots * k // pieces for k in range(pieces + 1)]
    futures = [
        submit(span_validate_keys, tables, n_entries, lo, hi, what)
        for lo, hi in zip(bounds, bounds[1:], strict=False)
    ]
    futures.append(submit(span_validate_ids, tables, n_entries, what))
    return [f.result for f in futures]


class _Done:
    """A finished call, as a future of :func:`validate_parts`'s ``submit`` has it."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


def _now(fn: Callable[..., Any], *args: Any) -> _Done:
    return _Done(fn(*args))


def load(
    directory: Path, recorded: dict[str, Any], n_entries: int, full: bool = True
) -> dict[str, np.ndarray]:
    """Memory-map the tables of ``directory``, check them against ``recorded`` (the ``tables``
    field of ``index.json``) and with :func:`validate`. ``full=False``: dtypes and shapes only
    (no sha256, no ``validate``), for a process mapping tables verified in full this run."""
    if not isinstance(recorded, dict) or set(recorded) != set(TABLE_DTYPES):
        raise MetacurateError(
            f"{directory}: index.json does not describe the tables; delete the folder to rebuild"
        )
    tables: dict[str, np.ndarray] = {}
    for name in TABLE_DTYPES:
        path = directory / f"{name}.npy"
        try:
            tables[name] = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise MetacurateError(f"{path}: cannot read the matcher index ({exc})") from None
    check_shapes(tables, str(directory))
    if not full:
        for name, want in recorded.items():
            got = {"dtype": tables[name].dtype.str, "shape": list(tables[name].shape)}
            if got != {k: want.get(k) for k in got}:
                raise MetacurateError(
                    f"{directory / (name + '.npy')}: shape differs from index.json (damaged or "
                    "overwritten); delete the folder to rebuild the index"
                )
        return tables
    with ThreadPoolExecutor(2) as others:  # all release the GIL: side by side, on two cores
        checks = validate_parts(tables, n_entries, str(directory), others.submit)
        actual = describe(tables)
        for name, want in recorded.items():
            if actual[name] != want:
                raise MetacurateError(
                    f"{directory / (name + '.npy')}: content differs from index.json (damaged "
                    "or overwritten); delete the folder to rebuild the index"
                )
        for wait in checks:
            wait()
    return tables
