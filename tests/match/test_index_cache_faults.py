"""The index cache under faults: builds left by killed runs are removed, a failing cache
folder is named as such, and an index swapped after the driver's check is never mapped
unverified by a worker."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from metacurate.api import curate
from metacurate.demo import make_sample
from metacurate.errors import MetacurateError
from metacurate.kernel import native_available
from metacurate.match.index_cache import identity, index_folder, mapped_index, verified_index
from metacurate.metadata import load_default_metadata
from tests.reliability.conftest import remount, tmpfs

pytestmark = pytest.mark.skipif(not native_available(), reason="native kernel not built")


@pytest.fixture(scope="module")
def metadata():
    return load_default_metadata()


@pytest.fixture(scope="module")
def pool(tmp_path_factory, metadata) -> str:
    d = tmp_path_factory.mktemp("pool")
    make_sample(d / "part-0.parquet", metadata, rows=500, seed=3)
    return str(d)


def _run(pool: str, out: Path, metadata, cache: Path) -> dict:
    return curate(
        pool, out, metadata=metadata, report=False, workers=1, t=20.0, index_cache=str(cache)
    )


def test_a_killed_build_is_cleaned_up(tmp_path, pool, metadata):
    """Item 9: '.<hash>-...tmp-PID-RAND/' folders of killed builds stayed forever."""
    cache = tmp_path / "cache"
    left = cache / "index" / ".0123456789abcdef-metaclip1-k1-v1.tmp-999999999-deadbeef"
    left.mkdir(parents=True)
    (left / "slots.npy").write_bytes(b"\0" * 1000)
    mine = cache / "index" / f".x.tmp-{os.getpid()}-cafecafe"  # a live build: kept
    mine.mkdir()
    _run(pool, tmp_path / "o", metadata, cache)
    assert not left.exists()
    assert mine.exists()


def test_a_read_only_cache_is_named_with_its_fix(tmp_path, pool, metadata):
    """Item 9: a read-only (or full) cache was blamed on the output folder, with the advice
    to use a writable --out."""
    with tmpfs(tmp_path / "ro", "16m") as mnt:
        remount(mnt, "ro")
        with pytest.raises(MetacurateError) as info:
            _run(pool, tmp_path / "o", metadata, mnt / "cache")
    line = str(info.value)
    assert str(mnt) in line and "--index-cache" in line and "output folder" not in line


def test_a_full_cache_is_named_and_leaves_no_temporary(tmp_path, pool, metadata):
    with tmpfs(tmp_path / "full", "64k") as mnt:
        with pytest.raises(MetacurateError) as info:
            _run(pool, tmp_path / "o", metadata, mnt)
        assert "no space left" in str(info.value) and "--index-cache" in str(info.value)
        assert not [p for p in (mnt / "index").iterdir() if ".tmp-" in p.name]


def test_an_index_swapped_after_the_check_is_verified_again(tmp_path, metadata, capfd):
    """Item 9: an index swapped in the cache between the driver's check and a worker's
    mapping was mapped with a shapes-only check (a damaged one segfaulted the worker)."""
    cache = tmp_path / "cache"
    verified_index(metadata, cache)
    d = index_folder(cache, metadata.hash, "metaclip1")
    seen = identity(d)
    slots = d / "slots.npy"
    raw = bytearray(slots.read_bytes())
    raw[-4096:] = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    swapped = d / "slots.new"
    swapped.write_bytes(bytes(raw))
    os.replace(swapped, slots)  # same size and header: a shapes-only check passes
    capfd.readouterr()
    assert mapped_index(metadata.hash, cache, "metaclip1", True, seen) is None
    assert "rebuilding" in capfd.readouterr().err
