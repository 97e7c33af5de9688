"""Bad inputs and hostile layouts (issue 11, items 1, 3, 4, 8, 9, 10): a clear line, or the
right result, never silent loss."""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tomllib

import metacurate
from metacurate.demo import make_sample
from metacurate.engine.local import capped_workers
from metacurate.metadata.load import MetadataWarning
from metacurate.metadata.load import load_metadata as load_file
from tests.reliability.conftest import REPO, cli, one_line_error

ARGS = ("--t", "20", "--seed", "5", "--workers", "1")


def _curated(out: Path) -> pa.Table:
    return pq.read_table(out / "curated").sort_by("uid")


def test_skipped_input_is_retried_and_reported(tmp_path, metadata):
    """Item 1: a skipped input became a finished task and was silently left out forever."""
    pool = tmp_path / "pool"
    pool.mkdir()
    make_sample(pool / "good.parquet", metadata, rows=1000, seed=1)
    bad = pool / "bad.parquet"
    bad.write_bytes(b"PAR1 not parquet")
    out = tmp_path / "out"
    r = cli("curate", pool, "--out", out, "--skip-bad-files", *ARGS)
    assert r.returncode == 0, r.stderr
    assert "skipped" in r.stdout and "bad.parquet" in r.stdout
    assert json.loads((out / "manifest.json").read_text())["skipped_inputs"][0]["path"] == str(bad)
    make_sample(bad, metadata, rows=500, seed=2)  # the user fixes the file
    r = cli("curate", pool, "--out", out, *ARGS)  # no flag: the fixed file is matched now
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "stats.json").read_text())["rows"] == 1500
    fresh = tmp_path / "fresh"
    assert cli("curate", pool, "--out", fresh, *ARGS).returncode == 0
    assert _curated(out).equals(_curated(fresh))


def test_users_own_files_are_never_deleted(tmp_path, metadata):
    """Item 3: stale-file cleanup deleted any curated/*.parquet it had not written."""
    pool = make_sample(tmp_path / "p.parquet", metadata, rows=800)
    out = tmp_path / "out"
    mine = out / "curated" / "my-notes.parquet"
    mine.parent.mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), mine)
    assert cli("curate", pool, "--out", out, *ARGS).returncode == 0
    assert cli("curate", pool, "--out", out, "--t", "5", "--seed", "5").returncode == 0
    assert pq.read_table(mine).column("x").to_pylist() == [1]


def test_out_inside_the_pool_folder_is_refused(tmp_path, metadata):
    """Item 3: --out inside the pool made the next run read its own outputs."""
    pool = tmp_path / "pool"
    pool.mkdir()
    make_sample(pool / "a.parquet", metadata, rows=500)
    line = one_line_error(cli("curate", pool, "--out", pool / "out", *ARGS))
    assert "inside the input folder" in line
    out = tmp_path / "out"
    assert cli("curate", pool, "--out", out, *ARGS).returncode == 0
    line = one_line_error(cli("curate", out / "curated", "--out", out, *ARGS))
    assert "inside the output folder" in line


def test_links_are_read_once(tmp_path, metadata):
    """Item 4: a file plus a link to it, or an aliased folder, double counted every row."""
    pool = tmp_path / "pool"
    pool.mkdir()
    make_sample(pool / "a.parquet", metadata, rows=700)
    (pool / "link.parquet").symlink_to(pool / "a.parquet")
    (tmp_path / "alias").symlink_to(pool)
    out = tmp_path / "out"
    r = cli("curate", pool, tmp_path / "alias", "--out", out, *ARGS)
    assert r.returncode == 0, r.stderr
    assert "same file" in r.stderr
    assert json.loads((out / "stats.json").read_text())["rows"] == 700


@pytest.mark.parametrize("name", ["x.tmp-1.parquet", "_part.parquet", ".hidden.parquet"])
def test_awkward_input_names(tmp_path, metadata, name):
    """Item 4: x.tmp-1 crashed (side-car taken for a temporary); _part / .hidden gave curated
    files that pyarrow and pandas skip when reading the folder."""
    pool = tmp_path / "pool"
    pool.mkdir()
    make_sample(pool / name, metadata, rows=600)
    out = tmp_path / "out"
    r = cli("curate", pool / name, "--out", out, *ARGS)
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["curated_rows"] > 0
    assert pq.read_table(out / "curated").num_rows == m["curated_rows"]
    import pandas as pd

    assert len(pd.read_parquet(out / "curated")) == m["curated_rows"]


def test_limits_are_refused_in_one_line(tmp_path, metadata):
    """Item 8: --workers 0 meant 1; --t inf wrote Infinity into manifest.json."""
    pool = make_sample(tmp_path / "p.parquet", metadata, rows=300)
    assert "--workers: must be >= 1" in one_line_error(
        cli("curate", pool, "--out", tmp_path / "o", "--t", "5", "--workers", "0")
    )
    assert "--t: must be a finite number" in one_line_error(
        cli("curate", pool, "--out", tmp_path / "o", "--t", "inf")
    )
    assert capped_workers(1000, 3) == 3
    assert 1 <= capped_workers(10**6, 10**6) < 10**6  # memory bounds it


def test_the_worker_cap_counts_reclaimable_page_cache(tmp_path, capsys):
    """CI capped --workers 3 at 2 with "0.9 GiB of memory available" on a machine whose
    memory was page cache (MemFree), which the kernel gives back on demand (MemAvailable)."""
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(
        "MemTotal:       24683772 kB\n"
        "MemFree:          943718 kB\n"
        "MemAvailable:   20971520 kB\n"
        "Cached:        19000000 kB\n"
    )
    assert capped_workers(8, 8, meminfo=meminfo) == 8
    assert capsys.readouterr().err == ""
    meminfo.write_text("MemTotal: 24683772 kB\nMemFree: 100 kB\nMemAvailable: 943718 kB\n")
    assert capped_workers(8, 8, meminfo=meminfo) == 2
    assert "capped at 2: 0.9 GiB of memory available" in capsys.readouterr().err


def test_metadata_hygiene(tmp_path):
    """Item 8: empty list, BOM, YAML/JSONL read as text, all silent."""
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    with pytest.raises(metacurate.MetacurateError, match="no entries"):
        load_file(empty)
    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeffdog\ncat\n".encode())
    with pytest.warns(MetadataWarning, match="byte-order mark"):
        assert load_file(bom).entries == ("dog", "cat")
    for suffix in (".yaml", ".yml", ".jsonl"):
        other = tmp_path / f"m{suffix}"
        other.write_text("- dog\n")
        with pytest.raises(metacurate.MetacurateError, match="not a metadata format"):
            load_file(other)
    gz = tmp_path / "gz.json"
    gz.write_bytes(gzip.compress(b'["dog", "cat"]'))
    assert load_file(gz).entries == ("dog", "cat")
    dupes = tmp_path / "d.json"
    dupes.write_text('["dog", "dog", " cat"]')
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        load_file(dupes)
    assert {str(w.message).split(": ", 1)[1][:20] for w in seen} == {
        "1 duplicate entries ",
        "1 entries start or e",
    }


def test_dictionary_encoded_text_is_accepted(tmp_path, metadata):
    """Item 8: pandas category columns were rejected though they are strings."""
    plain = pq.read_table(make_sample(tmp_path / "p.parquet", metadata, rows=500))
    cat = plain.set_column(
        plain.column_names.index("text"), "text", plain.column("text").dictionary_encode()
    )
    pq.write_table(cat, tmp_path / "c.parquet")
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli("curate", tmp_path / "p.parquet", "--out", a, *ARGS).returncode == 0
    r = cli("curate", tmp_path / "c.parquet", "--out", b, *ARGS)
    assert r.returncode == 0, r.stderr
    assert _curated(a).column("uid").equals(_curated(b).column("uid"))


def test_bad_json_member_in_a_tar_is_named(tmp_path):
    path = tmp_path / "shard.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in (("0001.txt", b"a dog"), ("0001.json", b"{not json")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    line = one_line_error(cli("match", path, "--out", tmp_path / "o"))
    assert "0001.json" in line


def test_pyarrow_floor_excludes_the_vulnerable_release():
    """Item 9: pyarrow>=14 admitted 14.0.0 (CVE-2023-47248)."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    (spec,) = [d for d in deps if d.startswith("pyarrow")]
    floor = tuple(int(x) for x in re.search(r">=([\d.]+)", spec)[1].split("."))
    assert floor >= (14, 0, 1)
    assert tuple(int(x) for x in pa.__version__.split(".")[:3]) >= (14, 0, 1)


def test_target_size_never_chooses_t_below_one_silently(tmp_path, metadata):
    """Item 10: --target-size 5000 on CC3M silently chose t = 0.54."""
    pool = make_sample(tmp_path / "p.parquet", metadata, rows=2000)
    line = one_line_error(cli("curate", pool, "--out", tmp_path / "o", "--target-size", "50"))
    assert "< 1" in line and "--allow-t-below-1" in line
    r = cli("curate", pool, "--out", tmp_path / "o", "--target-size", "50", "--allow-t-below-1")
    assert r.returncode == 0, r.stderr


def test_per_run_keys_are_not_uids_and_uids_npy_has_no_duplicates(tmp_path, metadata):
    """Item 10: img2dataset's per-run key was taken as the uid; two outputs curated together
    gave duplicated uids in uids.npy."""
    base = pq.read_table(make_sample(tmp_path / "s.parquet", metadata, rows=1000, seed=3))
    keys = pa.array([f"{i:09d}" for i in range(500)])
    for k, part in enumerate((base.slice(0, 500), base.slice(500))):
        pq.write_table(part.drop_columns(["uid"]).append_column("key", keys), tmp_path / f"{k}.pq")
    out = tmp_path / "out"
    paths = [tmp_path / "0.pq", tmp_path / "1.pq"]
    r = cli("curate", *paths, "--format", "parquet", "--out", out, "--t", "1e9")
    assert r.returncode == 0, r.stderr
    cur = pq.read_table(out / "curated")
    assert len(set(cur.column("uid").to_pylist())) == cur.num_rows
    m = json.loads((out / "manifest.json").read_text())
    assert m["inputs"][0]["uid_from"].startswith("hash of url")
    # a real uid column with duplicates: counted, and written once into uids.npy
    dup = base.set_column(base.column_names.index("uid"), "uid", pa.array(["a" * 32] * 1000))
    pq.write_table(dup, tmp_path / "dup.parquet")
    out2 = tmp_path / "out2"
    assert cli("curate", tmp_path / "dup.parquet", "--out", out2, "--t", "1e9").returncode == 0
    m2 = json.loads((out2 / "manifest.json").read_text())
    assert m2["rows_duplicate_uid"] == 999 and m2["uids_npy"] is True
    assert len(np.load(out2 / "uids.npy")) == 1


def test_ray_without_a_cluster_is_one_line(tmp_path, metadata):
    pytest.importorskip("ray")
    pool = make_sample(tmp_path / "p.parquet", metadata, rows=100)
    r = cli(
        "curate", pool, "--out", tmp_path / "o", "--t", "5", "--engine", "ray",
        "--ray-address", "127.0.0.1:1",
        env={"RAY_ADDRESS": ""}, timeout=300,
    )  # fmt: skip
    assert "cannot connect to a Ray cluster" in one_line_error(r)


def test_broken_pipe_is_quiet(tmp_path, metadata):
    import subprocess
    import sys

    pool = make_sample(tmp_path / "p.parquet", metadata, rows=300)
    assert cli("curate", pool, "--out", tmp_path / "o", "--t", "5").returncode == 0
    for cmd in (f"stats {tmp_path / 'o'} --json", "metadata info --json"):
        r = subprocess.run(
            f"{sys.executable} -m metacurate.cli {cmd} | head -1",
            shell=True,
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        assert "BrokenPipeError" not in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_headerless_tsv_gets_a_hint(tmp_path):
    tsv = tmp_path / "cc.tsv"
    tsv.write_text("a dog on a beach\thttp://x/1.jpg\na cat\thttp://x/2.jpg\n")
    line = one_line_error(cli("match", tsv, "--out", tmp_path / "o"))
    assert "--columns" in line and "no header" in line
