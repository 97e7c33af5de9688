"""Several texts per image online: at each epoch one matched text per image competes, chosen by
the keyed hash with the epoch in it, exactly as ``metacurate balance --image-column --epoch``."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate import MetacurateError
from metacurate.api import match_pool
from metacurate.files import read_json
from metacurate.metadata import load_default_metadata
from metacurate.online import OnlineBalancer
from tests.online.conftest import SEED, T
from tests.online.helpers import cli_keys, write_shards

wds = pytest.importorskip("webdataset")
ROWS = 2400


@pytest.fixture(scope="module")
def image_pool(tmp_path_factory, pool):
    """The test pool's first rows, grouped 1-4 texts per image (column ``image``)."""
    rng = np.random.default_rng(7)
    table = pq.read_table(pool[0]).slice(0, ROWS)
    sizes = rng.integers(1, 5, ROWS)
    image = np.repeat(np.arange(ROWS), sizes)[:ROWS]
    table = table.append_column("image", pa.array([f"img{i}" for i in image]))
    root = tmp_path_factory.mktemp("images")
    path = root / "pool.parquet"
    pq.write_table(table, path)
    work = root / "work"
    match_pool(path, work, metadata=load_default_metadata(), workers=1)
    shards = write_shards(work, path, root / "shards", 600, pool[1])
    samples = list(wds.WebDataset(shards, shardshuffle=False))
    return work, samples, image


def test_one_text_per_image_each_epoch_equals_offline(image_pool, tmp_path):
    work, samples, image = image_pool
    b = OnlineBalancer(work, t=T, seed=SEED, image_column="image")
    kept = {}
    for k in (0, 1, 2):
        b.set_epoch(k)
        got = [s["__key__"] for s in b.filter(samples)]
        flags = ("--t", str(T), "--seed", str(SEED), "--epoch", str(k), "--image-column", "image")
        assert set(got) == cli_keys(work, tmp_path / f"e{k}", *flags)
        per_image = Counter(image[int(key)] for key in got)
        assert max(per_image.values()) == 1
        kept[k] = set(got)
        mean, std = b.expected_size(k), b.expected_std(k)
        assert abs(len(got) - mean) <= 4 * std
    assert kept[0] != kept[1] != kept[2]
    assert [s["__key__"] for s in samples if b.keep(s)] == sorted(kept[2])


def test_target_size_with_image_column(image_pool, tmp_path):
    work, samples, _ = image_pool
    b = OnlineBalancer(
        work, target_size=500, seed=SEED, image_column="image", epoch=1, allow_t_below_1=True
    )
    flags = (
        "--target-size",
        "500",
        "--seed",
        str(SEED),
        "--epoch",
        "1",
        "--image-column",
        "image",
        "--allow-t-below-1",
    )
    keys = cli_keys(work, tmp_path / "ts", *flags)
    assert b.t == read_json(tmp_path / "ts" / "manifest.json")["t"]
    assert {s["__key__"] for s in b.filter(samples)} == keys


def test_image_column_errors(image_pool):
    work, _, _ = image_pool
    with pytest.raises(MetacurateError, match="side-cars"):
        OnlineBalancer(work, t=T, image_column="image", matches="caption")
    with pytest.raises(MetacurateError, match="no column"):
        OnlineBalancer(work, t=T, image_column="nope")
