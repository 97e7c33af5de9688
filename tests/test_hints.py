"""The summary says what a careful user should hear: a ``t`` above every count balances
nothing; a pool of captions written without spaces matches almost nothing under metaclip1."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from tests.reliability.conftest import cli


def test_a_t_above_every_count_is_said(tmp_path):
    texts = [f"a photo of a dog {i}" for i in range(500)]
    pq.write_table(pa.table({"text": texts}), tmp_path / "p.parquet")
    r = cli("curate", tmp_path / "p.parquet", "--out", tmp_path / "o", "--t", "20000")
    assert r.returncode == 0, r.stderr
    assert "nothing was balanced" in r.stdout
    r = cli("curate", tmp_path / "p.parquet", "--out", tmp_path / "o2", "--t", "5")
    assert "nothing was balanced" not in r.stdout


def test_unspaced_captions_under_metaclip1_get_one_hint(tmp_path):
    texts = ["一只狗在草地上奔跑", "两个人在海边散步", "桌子上有一个红色的苹果"] * 100
    pq.write_table(pa.table({"text": texts}), tmp_path / "cn.parquet")
    r = cli("curate", tmp_path / "cn.parquet", "--out", tmp_path / "o", "--t", "5")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("--mode metaclip2") == 1
    r = cli("match", tmp_path / "cn.parquet", "--out", tmp_path / "w")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("--mode metaclip2") == 1
    texts = ["a photo of a dog"] * 300
    pq.write_table(pa.table({"text": texts}), tmp_path / "en.parquet")
    r = cli("curate", tmp_path / "en.parquet", "--out", tmp_path / "o3", "--t", "5")
    assert "--mode metaclip2" not in r.stdout
