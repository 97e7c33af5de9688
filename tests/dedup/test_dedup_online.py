"""Online balancing over a ``--dedup`` work folder: the same epoch as ``balance --epoch K``."""

from __future__ import annotations

import pytest

from metacurate.api import balance_workdir, match_pool
from metacurate.online import OnlineBalancer
from tests.dedup.test_dedup import METADATA, make_rows, write_files


def test_online_expected_size_and_t_follow_the_dedup(tmp_path):
    pool = write_files(make_rows(3000, seed=21), tmp_path / "pool", 3, seed=22)
    work = tmp_path / "work"
    match_pool(pool, work, metadata=METADATA, workers=1, dedup=True)
    m = balance_workdir(work, tmp_path / "out", t=3, seed=1, epoch=2, workers=1)
    b = OnlineBalancer(work, t=3, seed=1)
    assert b.expected_size(2) == pytest.approx(m["expected_rows"], rel=1e-12)
    sized = balance_workdir(work, tmp_path / "sized", target_size=40, seed=1, epoch=2, workers=1)
    assert OnlineBalancer(work, target_size=40, seed=1).t_at(2) == sized["t"]
