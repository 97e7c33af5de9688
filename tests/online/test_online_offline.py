"""Online = offline: through a real DataLoader with worker processes (and simulated ranks), the
keys kept at epoch k are exactly the rows the offline rule keeps at epoch k."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest

torch = pytest.importorskip("torch")
wds = pytest.importorskip("webdataset")

from torch.utils.data import DataLoader  # noqa: E402

from metacurate import MetacurateError  # noqa: E402
from metacurate.online import OnlineBalancer, OnlineDataset, pack_for_training  # noqa: E402
from tests.online.conftest import SEED, T  # noqa: E402
from tests.online.helpers import cli_keys, keep_probs, offline_keys, sidecar_table  # noqa: E402

EPOCHS = (0, 1, 2)


def _keys(dataset, num_workers: int = 2) -> list[str]:
    loader = DataLoader(dataset, batch_size=None, num_workers=num_workers)
    return [sample["__key__"] for sample in loader]


@pytest.fixture(scope="module")
def offline(workdir, tmp_path_factory) -> dict[int, set[str]]:
    """``metacurate balance WORKDIR --t T --seed S --epoch k`` for each epoch (and the same as
    ``keep_mask(..., epoch=k)`` on the side-cars)."""
    out = {}
    for k in EPOCHS:
        folder = tmp_path_factory.mktemp(f"offline-{k}")
        out[k] = cli_keys(workdir, folder, "--t", str(T), "--seed", str(SEED), "--epoch", str(k))
        assert out[k] == offline_keys(workdir, T, SEED, k)
    return out


def test_dataloader_epochs_equal_offline(workdir, shards, offline, tmp_path):
    b = OnlineBalancer(workdir, t=T, seed=SEED, log_dir=tmp_path / "log")
    ds = OnlineDataset(shards, b)
    got = {}
    for k in EPOCHS:
        ds.set_epoch(k)
        keys = _keys(ds)
        assert len(keys) == len(set(keys)), "a sample was yielded twice"
        assert set(keys) == offline[k]
        got[k] = set(keys)
    assert got[0] != got[1] != got[2] != got[0], "epochs must see different subsets"
    prob = keep_probs(workdir, T)
    rows = sidecar_table(workdir).column("row").to_numpy()
    tail = {f"{r:09d}" for r in rows[prob == 1.0]}
    assert tail, "the pool has tail rows"
    union = got[0] | got[1] | got[2]
    assert tail <= union
    for k in EPOCHS:
        assert tail <= got[k]  # p_e = 1: kept at every epoch
        mean, std = b.expected_size(k), b.expected_std(k)
        assert abs(len(got[k]) - mean) <= 4 * std, (k, len(got[k]), mean, std)
    assert b.expected_size() == pytest.approx(float(prob.sum()))


def test_two_ranks_partition_the_epoch(workdir, shards, offline):
    b = OnlineBalancer(workdir, t=T, seed=SEED)
    for k in EPOCHS:
        per_rank = []
        for rank in range(2):
            ds = OnlineDataset(shards, b, rank=rank, world_size=2, shuffle_shards=True)
            ds.set_epoch(k)
            per_rank.append(_keys(ds))
        both = Counter(per_rank[0]) + Counter(per_rank[1])
        assert max(both.values()) == 1, "a sample reached two ranks or two workers"
        assert set(both) == offline[k]
        assert per_rank[0] and per_rank[1]


def test_select_keep_in_workers(workdir, shards, offline):
    """``wds.WebDataset(urls).select(b.keep)`` inside DataLoader workers."""
    b = OnlineBalancer(workdir, t=T, seed=SEED)
    b.set_epoch(1)
    pipeline = wds.WebDataset(shards, shardshuffle=False).select(b.keep)
    # webdataset splits shards over workers itself
    keys = _keys(pipeline)
    assert len(keys) == len(set(keys))
    assert set(keys) == offline[1]


def test_caption_matching_needs_only_counts_and_index(workdir, shards, samples, offline, tmp_path):
    """In-loader matching from a folder with only entry_counts, metadata and the index."""
    packed = pack_for_training(workdir, tmp_path / "train-node")
    names = sorted(p.name for p in packed.iterdir())
    assert names == ["entry_counts.parquet", "index", "metadata.json"]
    b = OnlineBalancer(packed, t=T, seed=SEED)
    assert b.matches == "caption"
    ds = OnlineDataset(shards, b, epoch=2)
    keys = _keys(ds)
    assert len(keys) == len(set(keys))
    assert set(keys) == offline[2]
    b.set_epoch(0)
    assert {s["__key__"] for s in b.filter(samples)} == offline[0]
    with pytest.raises(MetacurateError, match="side-cars|stats.json"):
        b.expected_size()


def test_filter_stage_and_keep_agree(workdir, samples, offline):
    """The batched stage and the per-sample callable decide alike, in both match modes."""
    samples = samples[:1000]
    for matches in ("sidecar", "caption"):
        b = OnlineBalancer(workdir, t=T, seed=SEED, epoch=2, matches=matches, chunk_rows=7)
        by_filter = [s["__key__"] for s in b.filter(samples)]
        by_keep = [s["__key__"] for s in samples if b.keep(s)]
        assert by_filter == by_keep
        assert set(by_filter) == {k for k in offline[2] if int(k) < 1000}


def test_balancer_pickles_small(workdir, samples):
    b = OnlineBalancer(workdir, t=T, seed=SEED)
    sample = samples[0]
    b.keep(sample)  # loads the tables
    blob = pickle.dumps(b)
    assert len(blob) < 4000
    c = pickle.loads(blob)
    assert c._local is None and c.keep(sample) == b.keep(sample)


def test_target_size_and_tail_share_per_epoch(workdir, samples, tmp_path):
    """``target_size`` picks the epoch's own t, as ``balance --target-size N --epoch k``."""
    import pyarrow.parquet as pq

    from metacurate import balance
    from metacurate.files import read_json

    with pytest.raises(MetacurateError, match="allow_t_below_1"):
        OnlineBalancer(workdir, target_size=10, seed=SEED)
    b = OnlineBalancer(workdir, target_size=1000, seed=SEED, allow_t_below_1=True)
    for k in (0, 1):
        out = tmp_path / f"ts{k}"
        flags = (
            "--target-size",
            "1000",
            "--seed",
            str(SEED),
            "--epoch",
            str(k),
            "--allow-t-below-1",
        )
        keys = cli_keys(workdir, out, *flags)
        b.set_epoch(k)
        assert b.t == read_json(out / "manifest.json")["t"]
        assert {s["__key__"] for s in b.filter(samples)} == keys
    counts = pq.read_table(workdir / "entry_counts.parquet").column("count").to_numpy()
    s = OnlineBalancer(workdir, tail_share=0.5, seed=SEED, epoch=2)
    assert s.t == balance.t_for_tail_share(counts, 0.5)
    flags = ("--tail-share", "0.5", "--seed", str(SEED), "--epoch", "2")
    assert {x["__key__"] for x in s.filter(samples)} == cli_keys(workdir, tmp_path / "sh", *flags)


def test_unknown_uids(workdir, tmp_path):
    """A sample whose uid is not a pool row stops the loader, or is dropped and counted."""
    sample = {"__key__": "x", "__url__": "s.tar", "json": b'{"uid": "not-in-the-pool"}'}
    with pytest.raises(MetacurateError, match="not a row of the pool"):
        OnlineBalancer(workdir, t=T, seed=SEED).keep(sample)
    b = OnlineBalancer(workdir, t=T, seed=SEED, unknown="drop", log_dir=tmp_path)
    assert b.keep(sample) is False
    assert list(b.filter([sample, dict(sample)])) == []
    assert b.epoch_counts()[0] == {"seen": 3, "kept": 0, "unknown": 3}


def test_bad_arguments(workdir):
    with pytest.raises(MetacurateError, match="exactly one"):
        OnlineBalancer(workdir, t=T, tail_share=0.2)
    with pytest.raises(MetacurateError, match="matches"):
        OnlineBalancer(workdir, t=T, matches="psychic")
    with pytest.raises(MetacurateError, match="epoch"):
        OnlineBalancer(workdir, t=T).set_epoch(-1)
    with pytest.raises(MetacurateError, match="entry counts"):
        OnlineBalancer(workdir / "nowhere", t=T)
    with pytest.raises(MetacurateError, match="twice"):
        OnlineDataset(["a.tar", "a.tar"], OnlineBalancer(workdir, t=T))


def test_expected_size_is_sum_of_keep_prob(workdir):
    b = OnlineBalancer(workdir, t=T, seed=SEED)
    prob = keep_probs(workdir, T)
    assert b.expected_size() == pytest.approx(prob.sum(), rel=1e-12)
    assert b.expected_std() == pytest.approx(np.sqrt((prob * (1 - prob)).sum()), rel=1e-12)


def test_balancer_takes_the_balance_config(workdir, samples, offline):
    """The loader takes the same ``BalanceConfig`` as ``metacurate balance``; keyword
    shortcuts override its fields, and its checks are the config's own."""
    from metacurate.config import BalanceConfig, ConfigError

    cfg = BalanceConfig(t=T, seed=SEED, epoch=2)
    by_config = OnlineBalancer(workdir, cfg, matches="sidecar")
    assert {s["__key__"] for s in by_config.filter(samples)} == offline[2]
    overridden = OnlineBalancer(workdir, BalanceConfig(t=1.0, seed=SEED), t=T, epoch=2)
    assert {s["__key__"] for s in overridden.filter(samples)} == offline[2]
    with pytest.raises(ConfigError, match="^t: must be a finite number"):
        OnlineBalancer(workdir, BalanceConfig(t=float("nan")))
    with pytest.raises(MetacurateError, match="unknown option tt="):
        OnlineBalancer(workdir, tt=T)
