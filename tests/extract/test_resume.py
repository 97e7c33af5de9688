"""Extract per input file on the engines: a rerun adds new files and skips finished ones, a
killed run resumes to the bytes of an uninterrupted one, Ray writes the local engine's bytes,
and Common Crawl path listings are expanded (sampled, limited)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_run import tree

from conftest import http_response, warc_record, write_warc
from metacurate.config import EngineConfig
from metacurate.extract import extract
from metacurate.extract.run import PARTS_DIR

HERE = Path(__file__).parent


def page(i: int) -> bytes:
    body = (
        f'<html><body><img src="/img/{i}.jpg" alt="photo {i}"><img src="/logo.png" '
        f'alt="shared logo"><img src="https://cdn.example.net/{i % 3}.gif" title="gif {i % 3}">'
        "</body></html>"
    ).encode()
    return warc_record("response", http_response(body), f"http://site{i}.example/", record_id=i)


@pytest.fixture
def warcs(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    return [
        write_warc(folder / f"f{n}.warc.gz", [page(10 * n + i) for i in range(3)]) for n in range(5)
    ]


def shards(out: Path) -> dict[str, bytes]:
    """The shards and the stats file (what a user reads)."""
    return {k: v for k, v in tree(out).items() if not k.startswith(PARTS_DIR)}


def test_rerun_adds_new_files_and_skips_finished_ones(tmp_path: Path, warcs: list[Path]) -> None:
    fresh = tmp_path / "fresh"
    extract(warcs, fresh, shard_rows=3, progress=False)
    grown = tmp_path / "grown"
    extract(warcs[:2], grown, shard_rows=3, progress=False)
    done = {p.name: p.stat().st_mtime_ns for p in (grown / PARTS_DIR).iterdir()}
    stats = extract(warcs, grown, shard_rows=3, progress=False)  # no --force needed
    assert tree(grown) == tree(fresh)
    for name, mtime in done.items():  # the two finished files were not extracted again
        assert (grown / PARTS_DIR / name).stat().st_mtime_ns == mtime
    assert stats["total"]["duplicates"] > 0  # the shared logo, first file wins
    assert list(stats["files"]) == [str(w) for w in warcs]


def test_killed_extract_resumes_to_the_same_shards(tmp_path: Path, warcs: list[Path]) -> None:
    whole = tmp_path / "whole"
    extract(warcs, whole, shard_rows=3, progress=False)
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*sys.path, str(HERE)])}
    run = subprocess.run(
        [sys.executable, str(HERE / "crash_extract.py"), "3", str(out), *map(str, warcs)],
        env=env,
        capture_output=True,
    )
    assert run.returncode == -9, run.stderr.decode()
    assert len(list((out / PARTS_DIR).glob("*.json"))) == 2  # the third: part, no marker
    assert len(list((out / PARTS_DIR).glob("*.parquet"))) == 3
    assert not (out / "_extract_stats.json").exists()
    extract(warcs, out, shard_rows=3, progress=False)
    assert tree(out) == tree(whole)


def test_path_listing_sample_and_limit(tmp_path: Path, warcs: list[Path]) -> None:
    listing = tmp_path / "warc.paths.gz"
    listing.write_bytes(gzip.compress("".join(f"in/{w.name}\n" for w in warcs).encode()))
    base = str(tmp_path)
    stats = extract([listing], tmp_path / "all", progress=False, paths_base=base)
    assert stats["config"]["files"] == [f"{base}/in/{w.name}" for w in warcs]
    sampled = extract([listing], tmp_path / "s", progress=False, paths_base=base, sample=3, seed=1)
    files = sampled["config"]["files"]
    assert len(files) == 3 and files == sorted(files)  # listing order kept
    again = extract([listing], tmp_path / "s2", progress=False, paths_base=base, sample=3, seed=1)
    assert again["config"]["files"] == files  # seeded
    limited = extract([listing], tmp_path / "l", progress=False, paths_base=base, limit=2)
    assert limited["config"]["files"] == [f"{base}/in/{w.name}" for w in warcs[:2]]


def test_local_workers_write_the_same_bytes(tmp_path: Path, warcs: list[Path]) -> None:
    one = extract(warcs, tmp_path / "one", shard_rows=3, progress=False, workers=1)
    two = extract(warcs, tmp_path / "two", shard_rows=3, progress=False, workers=2)
    assert one == two
    assert tree(tmp_path / "one") == tree(tmp_path / "two")


@pytest.mark.slow
def test_ray_and_local_extract_write_the_same_bytes(tmp_path: Path, warcs: list[Path]) -> None:
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray not installed (pip install 'metacurate[ray]')")
    import ray

    local = extract(warcs, tmp_path / "local", shard_rows=3, progress=False, workers=2)
    # "local": a cluster of its own, never one that a parallel test started with ray start
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = extract(
            warcs,
            tmp_path / "ray",
            shard_rows=3,
            progress=False,
            engine=EngineConfig(kind="ray", workers=2),
        )
    finally:
        ray.shutdown()
    assert on_ray == local
    assert shards(tmp_path / "ray") == shards(tmp_path / "local")
    assert tree(tmp_path / "ray") == tree(tmp_path / "local")
    assert json.loads((tmp_path / "ray" / "_extract_stats.json").read_text())["rows"] > 0
