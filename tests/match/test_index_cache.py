"""The shared matcher index cache: reused across output folders, never trusted unverified.

Issue 11 item 6: a corrupted cached index was trusted (0 matches, exit 0). Every table's
dtype, shape and sha256 are recorded in index.json and checked (with the kernel's structural
validation) by the driver before workers map it; a mismatch rebuilds and says so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from metacurate.api import curate
from metacurate.demo import make_sample
from metacurate.kernel import native_available
from metacurate.metadata import load_default_metadata

pytestmark = pytest.mark.skipif(not native_available(), reason="native kernel not built")


@pytest.fixture(scope="module")
def metadata():
    return load_default_metadata()


@pytest.fixture(scope="module")
def pool(tmp_path_factory, metadata) -> str:
    d = tmp_path_factory.mktemp("pool")
    make_sample(d / "part-0.parquet", metadata, rows=3000, seed=3)
    return str(d)


def _run(pool: str, out: Path, metadata, cache: Path, **options) -> dict:
    return curate(pool, out, metadata=metadata, report=False, workers=1, t=20.0, seed=1, **options)


def _index_files(root: Path, name: str) -> list[Path]:
    return sorted(root.rglob(name))


def _corrupt_data(path: Path, rng: np.random.Generator) -> None:
    """Random bytes of the same size after the .npy header (the header still parses)."""
    raw = bytearray(path.read_bytes())
    with open(path, "rb") as fh:
        np.lib.format.read_magic(fh)
        np.lib.format.read_array_header_1_0(fh)
        start = fh.tell()
    raw[start:] = rng.integers(0, 256, size=len(raw) - start, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(raw))


def test_index_is_shared_across_output_folders(tmp_path, pool, metadata):
    cache = tmp_path / "cache"
    _run(pool, tmp_path / "a", metadata, cache, index_cache=str(cache))
    slots = _index_files(cache, "slots.npy")
    assert len(slots) == 1
    before = slots[0].stat().st_mtime_ns
    _run(pool, tmp_path / "b", metadata, cache, index_cache=str(cache))
    assert slots[0].stat().st_mtime_ns == before  # mapped, not rebuilt
    assert not (tmp_path / "a" / "index").exists() and not (tmp_path / "b" / "index").exists()
    info = json.loads((slots[0].parent / "index.json").read_text())
    assert set(info["tables"]) == {"slots", "tags", "ids", "blob", "mask"}
    assert len(info["tables"]["slots"]["sha256"]) == 64


@pytest.mark.parametrize("how", ["data", "whole"])
def test_corrupted_cached_index_is_rebuilt(tmp_path, pool, metadata, capfd, monkeypatch, how):
    cache = tmp_path / "cache"
    monkeypatch.setenv("METACURATE_CACHE", str(cache))
    good = _run(pool, tmp_path / "good", metadata, cache)
    assert good["match"]["total_matches"] > 0
    rng = np.random.default_rng(0)
    # wherever the index lives (the cache, or an output folder's index/), damage every copy
    for slots in _index_files(tmp_path, "slots.npy"):
        if how == "data":
            _corrupt_data(slots, rng)
        else:
            slots.write_bytes(rng.integers(0, 256, size=slots.stat().st_size, dtype=np.uint8))
    capfd.readouterr()
    again = _run(pool, tmp_path / "good", metadata, cache, force=True)
    err = capfd.readouterr().err
    assert again["match"]["total_matches"] == good["match"]["total_matches"]
    assert "rebuilding" in err and "slots" in err
    curate(pool, tmp_path / "fresh", metadata=metadata, report=False, t=20.0, seed=1)
    assert pq.read_table(tmp_path / "good" / "entry_counts.parquet").equals(
        pq.read_table(tmp_path / "fresh" / "entry_counts.parquet")
    )


def test_cache_folder_from_environment(tmp_path, pool, metadata, monkeypatch):
    monkeypatch.setenv("METACURATE_CACHE", str(tmp_path / "env-cache"))
    curate(pool, tmp_path / "o", metadata=metadata, report=False, t=20.0, seed=1)
    assert len(_index_files(tmp_path / "env-cache", "slots.npy")) == 1
    assert os.listdir(tmp_path / "o")  # the run itself still wrote its outputs
