"""Online balancing of a metaclip2 work folder: each language under its own t, as offline."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from metacurate import MetacurateError
from metacurate.api import balance_workdir, match_pool
from metacurate.demo import make_worldwide_sample
from metacurate.metadata.worldwide import load_worldwide
from metacurate.online import OnlineBalancer

T, SEED = 8.0, 5


@pytest.fixture(scope="module")
def ww_workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("ww-online")
    ww = load_worldwide("worldwide-default")
    pool = make_worldwide_sample(d / "pool" / "pool.parquet", ww, rows=3000, seed=2)
    work = d / "work"
    match_pool(pool, work, metadata=ww, mode="metaclip2", lang_column="lang", workers=1)
    return work, pq.read_table(pool).to_pylist()


def _samples(rows: list[dict]) -> list[dict]:
    return [
        {"__key__": f"{i:09d}", "json": json.dumps({"uid": r["uid"]}).encode(), "txt": r["text"]}
        for i, r in enumerate(rows)
    ]


@pytest.mark.parametrize("epoch", [0, 1])
def test_online_epoch_equals_offline_per_language_t(ww_workdir, tmp_path, epoch):
    work, rows = ww_workdir
    out = tmp_path / f"offline-{epoch}"
    m = balance_workdir(work, out=out, t=T, seed=SEED, epoch=epoch)
    assert len({r["t"] for r in m["languages"] if r["pool_rows"]}) > 1  # several t in play
    offline = set(pq.read_table(out / "curated", columns=["uid"]).column("uid").to_pylist())
    b = OnlineBalancer(work, t=T, seed=SEED, epoch=epoch)
    online = {json.loads(s["json"])["uid"] for s in _samples(rows) if b.keep(s)}
    assert online == offline
    assert b.expected_size() == pytest.approx(m["expected_rows"], rel=1e-9)


def test_online_worldwide_refuses_what_it_cannot_do_exactly(ww_workdir):
    work, _ = ww_workdir
    with pytest.raises(MetacurateError, match="language"):
        OnlineBalancer(work, t=T, matches="caption")
    with pytest.raises(MetacurateError, match="target size is not available"):
        OnlineBalancer(work, target_size=100)
