"""Fixtures: a real-caption pool (the first rows of the LAION sample, or the generated demo pool
without the shared data), matched once, and WebDataset shards of every row."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from metacurate.api import match_pool
from metacurate.demo import make_sample
from metacurate.metadata import load_default_metadata
from tests.conftest import shared_dir
from tests.online.helpers import write_shards

POOL_ROWS = 4000
SHARD_ROWS = 400
T = 20.0
SEED = 3


@pytest.fixture(scope="session")
def pool(tmp_path_factory) -> tuple[Path, str]:
    """``(path, text column)`` of the test pool."""
    out = tmp_path_factory.mktemp("online-pool") / "pool.parquet"
    d = shared_dir()
    laion = d / "data/captions/laion_sample_10k.parquet" if d is not None else None
    if laion is not None and laion.exists():
        pq.write_table(pq.read_table(laion).slice(0, POOL_ROWS), out)
        return out, "TEXT"
    make_sample(out, load_default_metadata(), POOL_ROWS)
    return out, "text"


@pytest.fixture(scope="session")
def workdir(tmp_path_factory, pool) -> Path:
    """``metacurate match`` of the pool with the built-in metadata."""
    out = tmp_path_factory.mktemp("online-work") / "work"
    match_pool(pool[0], out, metadata=load_default_metadata(), workers=1)
    return out


@pytest.fixture(scope="session")
def shards(tmp_path_factory, workdir, pool) -> list[str]:
    """The pool as WebDataset shards of SHARD_ROWS samples."""
    out = tmp_path_factory.mktemp("online-shards")
    return write_shards(workdir, pool[0], out, SHARD_ROWS, pool[1])


@pytest.fixture(scope="session")
def samples(shards) -> list[dict]:
    """Every sample of the shards, read once (for tests that need no DataLoader)."""
    import webdataset as wds

    return list(wds.WebDataset(shards, shardshuffle=False))
