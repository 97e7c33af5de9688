"""The report's sample captions for head entries: kept and dropped rows, with u and p_e."""

from __future__ import annotations

import numpy as np
import pytest

from metacurate.api import curate
from metacurate.demo import DEMO_T, copy_laion_sample, demo_metadata
from metacurate.metadata import load_default_metadata, load_default_sources
from metacurate.report.samples import band_samples, sample_rows
from metacurate.report.stats import load_run


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    pool = copy_laion_sample(d / "pool.parquet")
    md = demo_metadata(load_default_metadata(), load_default_sources())
    curate(str(pool), str(d / "out"), metadata=md, t=DEMO_T, seed=5, workers=1)
    return d / "out"


def test_head_entries_show_kept_and_dropped_with_u_and_p(demo_run):
    run = load_run(demo_run)
    sample = sample_rows(run)
    head = next(b for b in band_samples(run, sample) if b["band"] == "head")
    assert head["entries"]
    for item in head["entries"]:
        caps = item["captions"]
        kept = [c for c in caps if c["kept"]]
        dropped = [c for c in caps if not c["kept"]]
        assert kept and dropped, item["entry"]  # the first rows of the pool would all be kept
        e = item["entry_id"]
        for c in caps:
            assert c["p_e"] == pytest.approx(min(1.0, DEMO_T / run.counts[e]))
            if c["u"] < c["p_e"]:
                assert c["kept"]  # kept through this entry
        for c in dropped:
            assert c["u"] >= c["p_e"]  # a dropped row lost every draw, this one included


def test_u_is_the_balance_stage_draw(demo_run):
    """u < p_e for every entry of a row decides it: recomputed here for the sample rows from
    the keyed hash and compared with the decisions the balance stage wrote."""
    from metacurate.balance.keyed_hash import uniform

    run = load_run(demo_run)
    sample = sample_rows(run)
    hashes = sample.column("uid_hash").to_numpy()
    kept = sample.column("kept").to_pylist()
    for i, ids in enumerate(sample.column("entry_ids").to_pylist()[:2000]):
        if not ids:
            continue
        u = uniform(5, np.full(len(ids), hashes[i]), np.asarray(ids, np.int64))
        assert kept[i] == bool((u < run.p[np.asarray(ids)]).any())
