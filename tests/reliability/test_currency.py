"""A task's record is current only while its outputs are there as recorded; ``--force`` redoes
every stage; a run with other settings first retires the old run's completion artifacts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from metacurate.api import curate
from tests.engine.test_resume import snapshot
from tests.reliability.conftest import cli

ARGS = ("--t", "20", "--seed", "5", "--workers", "1", "--batch-rows", "500")


@pytest.fixture(scope="module")
def finished(tmp_path_factory, pool) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path_factory.mktemp("finished") / "out"
    r = cli("curate", pool, "--out", out, *ARGS)
    assert r.returncode == 0, r.stderr
    return out, snapshot(out)


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _unforced(files: dict[str, bytes]) -> dict[str, bytes]:
    """The snapshot without the manifest's record of ``--force`` (the only difference)."""
    manifest = json.loads(files["manifest.json"])
    manifest["config"]["match"].pop("force", None)
    return {**files, "manifest.json": json.dumps(manifest, sort_keys=True).encode()}


def _same(out: Path, clean: dict[str, bytes]) -> None:
    got, clean = _unforced(snapshot(out)), _unforced(clean)
    assert sorted(got) == sorted(clean)
    assert [k for k in got if got[k] != clean[k]] == []


def _one(out: Path, pattern: str) -> Path:
    return sorted(out.glob(pattern))[1]


@pytest.mark.parametrize(
    "pattern", ["curated/*.parquet", "matches/*[0-9a-f].parquet", "balance/*.decisions.parquet"]
)
@pytest.mark.parametrize("damage", ["missing", "half"])
@pytest.mark.parametrize("force", [False, True])
def test_missing_or_damaged_outputs_are_rebuilt(tmp_path, pool, finished, pattern, damage, force):
    """Item 1: a curated file, side-car or decisions file deleted or cut short was never
    rebuilt, even with --force; the run said it wrote rows that were not on disk."""
    src, clean = finished
    out = _copy(src, tmp_path / "out")
    victim = _one(out, pattern)
    if damage == "missing":
        victim.unlink()
    else:
        data = victim.read_bytes()
        victim.write_bytes(data[: len(data) // 2])
    r = cli("curate", pool, "--out", out, *ARGS, *(["--force"] if force else []))
    assert r.returncode == 0, r.stderr
    _same(out, clean)


def test_force_redoes_balance_tasks(tmp_path, pool, finished):
    """Item 1: ``--force`` redid the match tasks but kept balance tasks whose record was
    current: a curated file damaged where no size or footer shows it stayed."""
    src, clean = finished
    out = _copy(src, tmp_path / "out")
    victim = _one(out, "curated/*.parquet")
    data = bytearray(victim.read_bytes())
    data[100:110] = b"x" * 10  # inside the first page: size and footer unchanged
    victim.write_bytes(bytes(data))
    r = cli("curate", pool, "--out", out, *ARGS, "--force")
    assert r.returncode == 0, r.stderr
    _same(out, clean)


class Boom(Exception):
    pass


def _boom_at(point: str):
    def hook(name: str) -> None:
        if name == point:
            raise Boom(name)

    return hook


def test_other_settings_retire_the_old_completion_artifacts(tmp_path, pool, finished):
    """Item 5: a rerun with other settings killed part-way left the old manifest, uids,
    report and curated counts beside the new run's first curated file."""
    src, _ = finished
    out = _copy(src, tmp_path / "out")
    assert (out / "report.html").exists()
    with pytest.raises(Boom):
        curate(
            str(pool), str(out), t=50.0, seed=5, workers=1, batch_rows=500,
            checkpoint=_boom_at("balance-record"),
        )  # fmt: skip
    left = {p.name for p in out.iterdir()}
    assert not left & {"manifest.json", "uids.npy", "report.html", "curated_entry_counts.parquet"}
    r = cli("curate", pool, "--out", out, *ARGS)  # the old settings again: as before
    assert r.returncode == 0, r.stderr
    _same(out, finished[1])


def test_a_match_rerun_retires_the_old_totals(tmp_path, pool, finished):
    """Item 5, match side: stats.json and entry_counts.parquet of the old run are not left
    beside new side-cars when a rerun stops part-way."""
    src, _ = finished
    out = _copy(src, tmp_path / "out")
    with pytest.raises(Boom):
        curate(
            str(pool), str(out), t=20.0, seed=5, workers=1, batch_rows=500, force=True,
            checkpoint=_boom_at("match-batch"),
        )  # fmt: skip
    left = {p.name for p in out.iterdir()}
    assert not left & {"stats.json", "entry_counts.parquet", "manifest.json"}


def _captions(path: Path, animal: str) -> None:
    rows = [
        {"url": f"http://x/{i}.jpg", "caption": f"a photo of a {animal} number {i:04d}"}
        for i in range(400)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_an_input_edited_in_place_with_the_same_size_and_mtime_is_matched_again(tmp_path):
    """Item 6: an input rewritten with the same size and mtime (cp -p, rsync -t, touch -r)
    was not matched again: curated rows kept the old file's entry_ids and decisions."""
    pool = tmp_path / "pool"
    pool.mkdir()
    src = pool / "caps.jsonl"
    _captions(src, "dog")
    before = src.stat()
    args = ("--t", "5", "--seed", "1", "--workers", "1")
    r = cli("curate", pool, "--out", tmp_path / "out", *args)
    assert r.returncode == 0, r.stderr
    _captions(src, "cat")  # same length, other entries
    os.utime(src, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (src.stat().st_size, src.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    r = cli("curate", pool, "--out", tmp_path / "out", *args)
    assert r.returncode == 0, r.stderr
    r = cli("curate", pool, "--out", tmp_path / "fresh", *args)
    assert r.returncode == 0, r.stderr
    for name in ("curated", "matches"):
        for fresh in sorted((tmp_path / "fresh" / name).glob("*.parquet")):
            assert (tmp_path / "out" / name / fresh.name).read_bytes() == fresh.read_bytes()


def test_balance_into_a_folder_of_another_run_reads_its_own_side_cars(tmp_path, pool, metadata):
    """Item 7: 'balance W --out O' into a folder that held another run: 'report O' read O's
    old matches/ and showed captions under entries they do not contain."""
    from metacurate.demo import make_sample
    from metacurate.report.stats import load_run

    other = tmp_path / "other_pool"
    other.mkdir()
    make_sample(other / "x.parquet", metadata, rows=700, seed=99)
    work, out = tmp_path / "w", tmp_path / "o"
    assert cli("match", pool, "--out", work, "--workers", "1").returncode == 0
    assert cli("curate", other, "--out", out, "--t", "20", "--workers", "1").returncode == 0
    r = cli("balance", work, "--out", out, "--t", "20", "--seed", "5", "--workers", "1")
    assert r.returncode == 0, r.stderr
    run = load_run(out)
    assert Path(run.match_root) == work
    assert {Path(i["path"]).parent for i in run.inputs} == {pool}
    r = cli("report", out)
    assert r.returncode == 0, r.stderr
    assert str(other) not in (out / "report.html").read_text()
