"""The download loop with a real img2dataset against a local server: plan (curate at t / rate),
download (some URLs answer 404), re-balance on the downloaded rows only; counts and decisions
against an independent computation; ``--available`` with everything downloaded = plain."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from metacurate import MetacurateError, balance
from metacurate.cli import main
from metacurate.download import availability, img2dataset_command, read_img2dataset
from metacurate.download.plan import measured_success_rate
from metacurate.files import read_json
from metacurate.pool.readers import ReadOptions
from metacurate.workdir import Workdir
from tests.download.conftest import MISSING, ROWS
from tests.online.helpers import offline_keys

pytest.importorskip("img2dataset")
T, SEED, RATE = 20.0, 5, 0.75
SMALL = {"image_size": 16, "processes_count": 1, "thread_count": 8, "timeout": 5}


def _balance(workdir: Path, out: Path, *flags: str) -> dict:
    assert main(["balance", str(workdir), "--out", str(out), "--workers", "1", *flags]) == 0
    return read_json(out / "manifest.json")


def _sidecar(workdir: Path) -> pd.DataFrame:
    wd = Workdir(workdir)
    (inp,) = read_json(wd.stats)["inputs"]
    return pq.read_table(wd.sidecar(inp["task_id"])).to_pandas()


def _kept_rows(workdir: Path, out: Path) -> np.ndarray:
    (inp,) = read_json(Workdir(workdir).stats)["inputs"]
    return pq.read_table(Workdir(out).decisions(inp["task_id"])).column("kept").to_numpy()


def _run_command(command: str) -> None:
    """Run a printed img2dataset command line with this venv's executable."""
    argv = shlex.split(command)
    argv[0] = str(Path(sys.executable).parent / "img2dataset")
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    subprocess.run(argv, check=True, env=env, timeout=300, capture_output=True)


@pytest.fixture(scope="module")
def downloaded(tmp_path_factory, download_workdir, image_server):
    """Plan at t / RATE, then download the planned set with the printed command line."""
    root = tmp_path_factory.mktemp("dl")
    plan_out = root / "to-download"
    manifest = _balance(download_workdir, plan_out, "--t", str(T), "--seed", str(SEED),
                        "--success-rate", str(RATE))  # fmt: skip
    plan = manifest["download_plan"]
    shards = root / "shards"
    command = img2dataset_command(plan_out, shards, **SMALL, number_sample_per_shard=64)
    assert plan["img2dataset"] == img2dataset_command(plan_out, plan_out / "shards")
    _run_command(command)
    return plan_out, shards, manifest


@pytest.mark.slow
def test_plan_inflates_t(download_workdir, downloaded):
    plan_out, _, manifest = downloaded
    plan = manifest["download_plan"]
    assert plan["t_final"] == T and plan["t_download"] == pytest.approx(T / RATE)
    assert manifest["t"] == plan["t_download"]
    want = offline_keys(download_workdir, T / RATE, SEED, None)
    side = _sidecar(download_workdir)
    got = {f"{r:09d}" for r in side["row"][_kept_rows(download_workdir, plan_out)]}
    assert got == want
    assert plan["rows_to_download"] == len(want) == manifest["curated_rows"]
    assert plan["expected_available"] == pytest.approx(RATE * len(want))
    assert 0 < plan["expected_final"] <= plan["expected_available"]
    assert "--save_additional_columns=[uid,entry_ids,keep_prob]" in plan["img2dataset"]


@pytest.mark.slow
def test_rebalance_on_downloaded_rows_equals_independent(download_workdir, downloaded, tmp_path):
    plan_out, shards, _ = downloaded
    final = tmp_path / "final"
    manifest = _balance(download_workdir, final, "--t", str(T), "--seed", str(SEED),
                        "--available", str(shards))  # fmt: skip
    # independent: img2dataset's own Parquet read with pandas, a Counter over side-car rows
    status = pd.concat(pd.read_parquet(p) for p in sorted(shards.glob("*.parquet")))
    ok = set(status.loc[status["status"] == "success", "uid"])
    side = _sidecar(download_workdir)
    urls = pq.read_table(read_json(Workdir(download_workdir).stats)["inputs"][0]["path"])
    url_id = [int(u.rsplit("/", 1)[1].removesuffix(".jpg")) for u in urls.column(0).to_pylist()]
    planned = set(pq.read_table(plan_out / "curated", columns=["uid"]).column(0).to_pylist())
    pairs = zip(side["uid"], url_id, strict=True)
    assert ok == {u for u, i in pairs if u in planned and i not in MISSING}
    available = side["uid"].isin(ok).to_numpy()
    rows = zip(side["entry_ids"], available, strict=True)
    naive = Counter(e for ids, a in rows if a for e in ids)
    counts = pq.read_table(final / "curated_entry_counts.parquet").column("count").to_numpy()
    expect = np.zeros(len(counts), np.int64)
    for e, c in naive.items():
        expect[e] = c
    assert np.array_equal(counts, expect)
    keep = balance.keep_mask(
        pq.read_table(Workdir(download_workdir).sidecar(_task(download_workdir))).column(
            "entry_ids"
        ),
        side["uid_hash"].to_numpy(np.uint64),
        balance.entry_probs(expect, T),
        SEED,
    )
    assert np.array_equal(_kept_rows(download_workdir, final), keep & available)
    curated = set(pq.read_table(final / "curated", columns=["uid"]).column(0).to_pylist())
    assert curated == set(side["uid"][keep & available]) and curated <= ok
    info = manifest["available"]
    assert info["mapped_by"] == "uid" and info["succeeded"] == len(ok)
    assert info["attempted"] == len(planned)
    assert info["pool_rows_available"] == int(available.sum())
    assert measured_success_rate(shards) == pytest.approx(len(ok) / len(planned))


def _entries(wd: Workdir) -> int:
    return pq.read_metadata(wd.entry_counts).num_rows


def _task(workdir: Path) -> str:
    return read_json(Workdir(workdir).stats)["inputs"][0]["task_id"]


@pytest.mark.slow
def test_mapping_by_url_and_from_tars(download_workdir, downloaded, tmp_path):
    """Without a uid column img2dataset's url maps back; with only tars, their .json does."""
    _, shards, _ = downloaded
    by_url, tars = tmp_path / "by-url", tmp_path / "tars"
    by_url.mkdir()
    tars.mkdir()
    for p in shards.glob("*.parquet"):
        pq.write_table(pq.read_table(p).drop_columns(["uid"]), by_url / p.name)
    for p in shards.glob("*.tar"):
        shutil.copy(p, tars / p.name)
    wd = Workdir(download_workdir)
    inputs = read_json(wd.stats)["inputs"]
    ref = availability(wd, inputs, shards, ReadOptions(), _entries(wd))
    for folder, key in ((by_url, "url"), (tars, "uid")):
        got = availability(wd, inputs, folder, ReadOptions(), _entries(wd))
        assert got.info["mapped_by"] == key
        assert all(np.array_equal(a, b) for a, b in zip(got.masks, ref.masks, strict=True))
    assert read_img2dataset(tars).attempted is None


@pytest.mark.slow
def test_everything_downloaded_equals_plain_balancing(download_workdir, image_server, tmp_path):
    from metacurate.download import run_img2dataset

    everything = tmp_path / "all"
    _balance(download_workdir, everything, "--t", "1e12", "--seed", str(SEED))
    missing = set(image_server.missing)
    image_server.missing.clear()
    try:
        run_img2dataset(everything, tmp_path / "shards", **SMALL)
    finally:
        image_server.missing.update(missing)
    a = _balance(download_workdir, tmp_path / "a", "--t", str(T), "--seed", str(SEED),
                 "--available", str(tmp_path / "shards"))  # fmt: skip
    b = _balance(download_workdir, tmp_path / "b", "--t", str(T), "--seed", str(SEED))
    side = _sidecar(download_workdir)
    matched = side["entry_ids"].map(len).to_numpy() > 0
    assert a["available"]["pool_rows_available"] == int(matched.sum())  # every matched row
    kept_a = _kept_rows(download_workdir, tmp_path / "a")
    assert np.array_equal(kept_a, _kept_rows(download_workdir, tmp_path / "b"))
    for name in ("curated", "curated_entry_counts.parquet"):
        ta, tb = pq.read_table(tmp_path / "a" / name), pq.read_table(tmp_path / "b" / name)
        assert ta.replace_schema_metadata(None).equals(tb.replace_schema_metadata(None))
    assert a["curated_rows"] == b["curated_rows"] and a["t"] == b["t"]


def test_errors(download_workdir, tmp_path):
    wd = Workdir(download_workdir)
    inputs = read_json(wd.stats)["inputs"]
    with pytest.raises(MetacurateError, match="not a folder"):
        read_img2dataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MetacurateError, match="no img2dataset output"):
        read_img2dataset(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    pd.DataFrame({"url": ["x"]}).to_parquet(bad / "00000.parquet")
    with pytest.raises(MetacurateError, match="'status'"):
        read_img2dataset(bad)
    other = tmp_path / "other"
    other.mkdir()
    pd.DataFrame({"url": ["http://elsewhere/1.jpg"], "status": ["success"]}).to_parquet(
        other / "00000.parquet"
    )
    with pytest.raises(MetacurateError, match="none of its 1 downloads"):
        availability(wd, inputs, other, ReadOptions(), _entries(wd))
    assert main(["balance", str(download_workdir), "--out", str(tmp_path / "o"), "--t", "5",
                 "--success-rate", "1.5"]) == 2  # fmt: skip
    assert len(_sidecar(download_workdir)) == ROWS


@pytest.mark.slow
def test_online_on_downloaded_shards(download_workdir, downloaded, tmp_path):
    """Train on what img2dataset fetched: online epoch k = ``balance --available --epoch k``,
    by side-car lookup and by in-loader matching with the packed available counts."""
    import json

    torch = pytest.importorskip("torch")
    from metacurate.online import OnlineBalancer, OnlineDataset, pack_for_training

    _, shards, _ = downloaded
    tars = sorted(str(p) for p in shards.glob("*.tar"))
    packed = pack_for_training(download_workdir, tmp_path / "node", available=shards)
    for k in (0, 1):
        out = tmp_path / f"e{k}"
        _balance(download_workdir, out, "--t", str(T), "--seed", str(SEED), "--epoch", str(k),
                 "--available", str(shards))  # fmt: skip
        want = pq.read_table(out / "curated", columns=["uid"]).column(0).to_pylist()
        for b in (
            OnlineBalancer(download_workdir, t=T, seed=SEED, available=shards),
            OnlineBalancer(packed, t=T, seed=SEED),
        ):
            ds = OnlineDataset(tars, b, epoch=k)
            loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)
            got = [json.loads(s["json"])["uid"] for s in loader]
            assert sorted(got) == sorted(want)
