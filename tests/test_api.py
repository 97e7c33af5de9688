"""Issue 10's bugs, one test each: the API gives what the CLI and a fresh process give, and
the report and ``explain`` show what is on disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import metacurate
from metacurate.demo import make_sample
from metacurate.explain import Explainer
from metacurate.metadata import load_default_metadata
from metacurate.report.samples import sample_rows
from metacurate.report.stats import load_run

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def metadata():
    return load_default_metadata()


def _cli(*args: str) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [sys.executable, "-m", "metacurate.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert r.returncode == 0, r.stderr
    return r


def _curated(out: Path) -> pa.Table:
    return pq.read_table(out / "curated").sort_by("uid")


def _uids(out: Path) -> set[str]:
    return set(pq.read_table(out / "curated", columns=["uid"]).column(0).to_pylist())


def _image_pool(path: Path, metadata, rows: int = 1000, images: int = 250) -> Path:
    """A pool where each image (url) has several texts."""
    base = pq.read_table(make_sample(path.with_suffix(".base.parquet"), metadata, rows, seed=11))
    urls = pa.array([f"https://img.example/{i % images}.jpg" for i in range(base.num_rows)])
    pq.write_table(base.set_column(base.column_names.index("url"), "url", urls), path)
    return path


def test_second_curate_in_one_process_equals_a_fresh_process(tmp_path, metadata):
    """Bug 1: p_e was cached per (workdir, t) in a module global and reused by the next
    curate() of the same process after the pool grew."""
    pool = tmp_path / "pool"
    pool.mkdir()
    make_sample(pool / "a.parquet", metadata, rows=3000, seed=1)
    out = tmp_path / "out"
    metacurate.curate(str(pool), str(out), t=20.0, seed=3, workers=1)
    make_sample(pool / "b.parquet", metadata, rows=1000, seed=2)  # the pool grows
    second = metacurate.curate(str(pool), str(out), t=20.0, seed=3, workers=1)
    fresh = tmp_path / "fresh"
    _cli("curate", str(pool), "--out", str(fresh), "--t", "20", "--seed", "3", "--workers", "1")
    assert _curated(out).equals(_curated(fresh))
    counts = pq.read_table(out / "curated_entry_counts.parquet")
    fresh_counts = pq.read_table(fresh / "curated_entry_counts.parquet")
    assert counts.equals(fresh_counts)
    assert second["curated_rows"] == len(_uids(fresh))


def test_curate_image_column_equals_the_cli(tmp_path, metadata):
    """Bug 2: curate(image_column=...) was accepted and ignored."""
    pool = _image_pool(tmp_path / "pool.parquet", metadata)
    api_out, cli_out = tmp_path / "api", tmp_path / "cli"
    m = metacurate.curate(str(pool), str(api_out), t=5.0, seed=1, image_column="url")
    _cli("curate", str(pool), "--out", str(cli_out), "--t", "5", "--seed", "1",
         "--image-column", "url")  # fmt: skip
    assert m["image_column"] == "url"
    assert m["config"]["balance"]["image_column"] == "url"
    api, cli = _curated(api_out), _curated(cli_out)
    assert api.equals(cli)
    assert len(set(api.column("url").to_pylist())) == api.num_rows  # one text per image


def test_report_and_explain_show_what_is_on_disk_with_image_column(tmp_path, metadata):
    """Bug 3: the report and explain recomputed keep_mask without the per-image choice."""
    pool = _image_pool(tmp_path / "pool.parquet", metadata, rows=1000, images=200)
    out = tmp_path / "out"
    _cli("curate", str(pool), "--out", str(out), "--t", "1e9", "--seed", "4",
         "--image-column", "url", "--workers", "1")  # fmt: skip
    on_disk = _uids(out)
    assert 0 < len(on_disk) <= 200  # at most one text per image, though t keeps every row
    sample = sample_rows(load_run(out))
    assert sample.num_rows == 1000
    kept = {
        u for u, k in zip(sample["uid"].to_pylist(), sample["kept"].to_pylist(), strict=True) if k
    }
    assert kept == on_disk
    explainer = Explainer(workdir=out)
    texts = pq.read_table(pool, columns=["text"]).column(0).to_pylist()
    for uid, text in zip(sample["uid"].to_pylist(), texts, strict=True):
        if text is None:  # a null caption matches nothing: never kept
            assert uid not in on_disk
            continue
        r = explainer.explain(text, uid)
        assert r["in_pool"] is True
        assert r["kept"] == (uid in on_disk), uid


def test_matcher_takes_metadata_lists_and_paths(tmp_path):
    """Bug 4: Matcher("path") matched against the characters of the path string."""
    path = tmp_path / "metadata.json"
    path.write_text('["dog", "red car", "cat"]')
    text = "a dog and a red car"
    for md in (str(path), path, ["dog", "red car", "cat"], metacurate.load_metadata(path)):
        assert metacurate.Matcher(md).match(text) == [0, 1]
    assert metacurate.Matcher("default").n_entries == len(load_default_metadata())
    assert metacurate.load_metadata("default").hash == load_default_metadata().hash
    for bad in (42, {"dog": 1}, b"dog"):
        with pytest.raises(metacurate.MetacurateError, match="metadata must be"):
            metacurate.Matcher(bad)


def test_api_functions_work_as_the_readme_shows(tmp_path, metadata):
    """Bug 4: match_pool(pool, out) raised AttributeError, balance_workdir(wd, out=, t=)
    TypeError; the configs the CLI builds were not exported."""
    pool = make_sample(tmp_path / "p.parquet", metadata, rows=2000, seed=5)
    stats = metacurate.match_pool(pool, tmp_path / "work")
    assert stats["rows"] == 2000
    m = metacurate.balance_workdir(tmp_path / "work", out=tmp_path / "out", t=50)
    assert m["curated_rows"] > 0
    cfg = metacurate.RunConfig(
        pool=(str(pool),),
        workdir=str(tmp_path / "c"),
        out=str(tmp_path / "c"),
        match=metacurate.MatchConfig(),
        balance=metacurate.BalanceConfig(t=50),
        engine=metacurate.EngineConfig(workers=1),
    )
    again = metacurate.curate(config=cfg, report=False)
    assert again["curated_rows"] == m["curated_rows"]
    assert _uids(tmp_path / "c") == _uids(tmp_path / "out")


def test_api_errors_name_parameters_and_cli_errors_name_flags(tmp_path, metadata):
    pool = make_sample(tmp_path / "p.parquet", metadata, rows=100)
    with pytest.raises(metacurate.MetacurateError, match=r"^t: must be a finite number"):
        metacurate.curate(pool, tmp_path / "o", t=-1.0)
    with pytest.raises(metacurate.MetacurateError, match=r"^workers: must be >= 1"):
        metacurate.curate(pool, tmp_path / "o", t=1.0, workers=0)
    with pytest.raises(metacurate.MetacurateError, match="unknown option colour="):
        metacurate.curate(pool, tmp_path / "o", t=1.0, colour="red")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "metacurate.cli",
            "curate",
            str(pool),
            "--out",
            str(tmp_path / "o"),
            "--t",
            "-1",
        ],  # fmt: skip
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.strip().startswith("metacurate: error: --t: must be a finite number")


def test_one_worker_default_for_api_and_cli(tmp_path):
    """Bug 4/5: the API defaulted to 1 worker, the CLI to all cores; curate --dry-run printed
    a balance worker count the run did not use."""
    import json

    from metacurate.cli import build_parser, run_config

    args = build_parser().parse_args(["curate", "p.parquet", "--out", "o", "--t", "5"])
    cli_cfg = run_config(args)
    from dataclasses import replace

    from metacurate.cli_flags import default_start_method

    # the same defaults as the API, but for how worker processes start (the CLI forks them)
    assert cli_cfg.engine.start_method == default_start_method()
    assert replace(cli_cfg.engine, start_method="spawn") == metacurate.EngineConfig()
    r = _cli("curate", "p.parquet", "--out", str(tmp_path / "o"), "--t", "5", "--dry-run")
    printed = json.loads(r.stdout)
    assert printed["engine"]["workers"] is None
    assert printed["engine"]["workers_resolved"] >= 1
    assert "workers" not in printed["balance"]  # one engine for every stage


def test_require_native_fails_without_the_kernel(tmp_path):
    """Bug 6: METACURATE_REQUIRE_NATIVE=1 was read by nothing."""
    code = (
        "import sys; sys.modules['metacurate.kernel._native'] = None\n"
        "from metacurate.cli import main\n"
        f"sys.exit(main(['demo', '--out', {str(tmp_path / 'd')!r}]))\n"
    )
    import os

    env = {**os.environ, "METACURATE_REQUIRE_NATIVE": "1"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 2, r.stderr
    assert "METACURATE_REQUIRE_NATIVE=1" in r.stderr
    env["METACURATE_REQUIRE_NATIVE"] = "0"
    r = subprocess.run(
        [sys.executable, "-c", code.replace("'demo'", "'demo', '--dry-run'")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr


def test_docs_link_only_to_files_in_the_repository():
    """Bug 6: README and docs linked ../shared/semantics.md, absent from a clone."""
    import re

    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    assert (REPO / "docs" / "semantics.md").exists()
    for page in pages:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.is_relative_to(REPO), f"{page.name} links outside: {target}"
            assert resolved.exists(), f"{page.name} links to a missing file: {target}"
