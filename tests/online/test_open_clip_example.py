"""The worked example trains a real open_clip model (tiny config, random init) on WebDataset
shards through the online balancer, with DataLoader workers, on CPU."""

from __future__ import annotations

import importlib.util
import math

import pytest

from metacurate.online import read_epoch_log
from tests.conftest import REPO
from tests.online.conftest import SEED, T
from tests.online.helpers import offline_keys

pytest.importorskip("open_clip")
pytest.importorskip("webdataset")


def _example():
    path = REPO / "examples" / "train_open_clip.py"
    spec = importlib.util.spec_from_file_location("train_open_clip", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_open_clip_trains_on_online_balanced_shards(workdir, shards, tmp_path):
    log = tmp_path / "log"
    argv = ["--workdir", str(workdir), "--shards", " ".join(shards), "--t", str(T)]
    argv += ["--seed", str(SEED), "--epochs", "2", "--steps", "3", "--batch-size", "16"]
    argv += ["--workers", "2", "--log-dir", str(log)]
    result = _example().main(argv)
    assert result["t"] == T
    for epoch in (0, 1):
        run = result["epochs"][epoch]
        keys = run["keys"]
        assert len(keys) == 3 * 16 and len(set(keys)) == len(keys)
        assert set(keys) <= offline_keys(workdir, T, SEED, epoch)
        assert all(math.isfinite(x) for x in run["losses"])
        assert run["losses"][0] == pytest.approx(math.log(16), rel=0.5)  # random init
        assert read_epoch_log(log, epoch)["kept"] >= 3 * 16
    # the epochs' balanced sets differ (the first 48 kept samples may still coincide when
    # almost every sample is tail, as with the cased built-in metadata)
    assert offline_keys(workdir, T, SEED, 0) != offline_keys(workdir, T, SEED, 1)
