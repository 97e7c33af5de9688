"""Resume mid-epoch (stateless decisions: a restart yields exactly what was not consumed) and
the per-epoch log written by loader workers."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
wds = pytest.importorskip("webdataset")

from torch.utils.data import DataLoader  # noqa: E402

from metacurate.online import OnlineBalancer, OnlineDataset, read_epoch_log  # noqa: E402
from metacurate.online.dataset import Progress  # noqa: E402
from tests.online.conftest import SEED, T  # noqa: E402
from tests.online.helpers import offline_keys  # noqa: E402


def _run(dataset, num_workers, stop_after=None, progress=None, stop_at_shard_end=False):
    """Consume samples (recording progress) until ``stop_after`` or the first finished shard."""
    keys = []
    for sample in DataLoader(dataset, batch_size=None, num_workers=num_workers):
        keys.append(sample["__key__"])
        if progress is not None:
            progress.update(sample["__url__"], sample["__last__"])
        if stop_at_shard_end and sample["__last__"]:
            break
        if stop_after is not None and len(keys) >= stop_after:
            break
    return keys


def test_restart_after_a_shard_yields_the_rest(workdir, shards):
    b = OnlineBalancer(workdir, t=T, seed=SEED)
    full = offline_keys(workdir, T, SEED, 1)
    progress = Progress(epoch=1)
    first = _run(OnlineDataset(shards, b, epoch=1), 0, progress=progress, stop_at_shard_end=True)
    assert progress.done == {shards[0]} and not progress.partial
    rest = _run(OnlineDataset(shards, b, resume=progress.state_dict()), 0)
    assert not set(first) & set(rest)
    assert set(first) | set(rest) == full
    assert len(first) + len(rest) == len(full)


@pytest.mark.parametrize("stop_after", [1, 333, 1000])
def test_restart_mid_shard_with_workers(workdir, shards, stop_after):
    """Two workers interleave shards; the progress of what was consumed (whole shards plus a
    prefix of others) is enough to resume exactly."""
    b = OnlineBalancer(workdir, t=T, seed=SEED)
    full = offline_keys(workdir, T, SEED, 2)
    progress = Progress(epoch=2)
    ds = OnlineDataset(shards, b, epoch=2, shuffle_shards=True)
    first = _run(ds, 2, stop_after=stop_after, progress=progress)
    state = Progress.from_state_dict(progress.state_dict())
    restarted = OnlineDataset(shards, b, shuffle_shards=True, resume=state)
    rest = _run(restarted, 2)
    assert len(first) + len(rest) == len(full)
    assert set(first) | set(rest) == full


def test_epoch_log_from_workers(workdir, shards, tmp_path):
    log = tmp_path / "log"
    b = OnlineBalancer(workdir, t=T, seed=SEED, log_dir=log)
    ds = OnlineDataset(shards, b)
    for k in (0, 1):
        ds.set_epoch(k)
        keys = _run(ds, 2)
        entry = read_epoch_log(log, k)
        assert entry["shards"] == len(shards)
        assert entry["seen"] == 4000 and entry["unknown"] == 0
        assert entry["kept"] == len(keys) == len(offline_keys(workdir, T, SEED, k))
        assert entry["t"] == T and entry["seed"] == SEED


def test_epoch_log_with_select_in_workers(workdir, shards, tmp_path):
    """With ``select(b.keep)`` the last shard of each worker is written when the worker exits."""
    log = tmp_path / "log"
    b = OnlineBalancer(workdir, t=T, seed=SEED, log_dir=log, epoch=1)
    keys = _run(wds.WebDataset(shards, shardshuffle=False).select(b.keep), 2)
    entry = read_epoch_log(log, 1)
    assert entry["shards"] == len(shards)
    assert entry["seen"] == 4000
    assert entry["kept"] == len(keys)
