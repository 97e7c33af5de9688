"""The command line: every command has an example, --dry-run, exit codes."""

from __future__ import annotations

import json

import pytest

from metacurate.cli import build_parser, main

COMMANDS = [
    "match",
    "balance",
    "curate",
    "demo",
    "report",
    "explain",
    "stats",
    "coverage",
    "extract",
    "metadata",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_an_example(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "example" in capsys.readouterr().out.lower()


def test_every_command_is_listed():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(COMMANDS) <= set(sub.choices)


def test_dry_run_prints_resolved_config(tmp_path, capsys):
    assert (
        main(
            [
                "curate",
                "a.parquet",
                "--out",
                str(tmp_path / "o"),
                "--t",
                "5",
                "--workers",
                "2",
                "--dry-run",
            ]
        )
        == 0
    )
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["pool"] == ["a.parquet"] and cfg["engine"]["workers"] == 2
    assert cfg["balance"]["t"] == 5.0 and cfg["balance"]["seed"] == 0
    assert cfg["match"]["mode"] == "metaclip1" and cfg["out"] == str(tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_balance_without_match_is_a_user_error(tmp_path, capsys):
    assert main(["balance", str(tmp_path), "--out", str(tmp_path / "o"), "--t", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("metacurate: error:") and "metacurate match" in err


def test_python_dash_m_metacurate_is_the_cli():
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "metacurate", "--version"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("metacurate ")


def test_the_command_leaves_at_once_with_its_output_flushed(tmp_path):
    """``run()`` (the console script, ``python -m metacurate``) ends with ``os._exit``: the
    exit code and every line of output still arrive, through a pipe and into a file, and no
    worker process outlives the command."""
    import subprocess
    import sys

    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "m.txt").write_text("cat\ndog\n")
    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(3):
        texts = [f"a cat {i} {k}" if k % 2 else f"a dog {k}" for k in range(50)]
        pq.write_table(
            pa.table({"text": texts, "url": [f"u{i}-{k}" for k in range(50)]}),
            pool / f"p{i}.parquet",
        )
    out = tmp_path / "o"
    argv = [
        sys.executable,
        "-m",
        "metacurate",
        "curate",
        str(pool),
        "--metadata",
        str(tmp_path / "m.txt"),
        "--out",
        str(out),
        "--t",
        "10",
        "--workers",
        "2",
        "--json",
    ]
    with open(tmp_path / "stdout.json", "w") as fh:
        r = subprocess.run(argv, stdout=fh, stderr=subprocess.PIPE, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((tmp_path / "stdout.json").read_text())
    assert (
        manifest["curated_rows"] == json.loads((out / "manifest.json").read_text())["curated_rows"]
    )
    bad = subprocess.run(argv[:-3] + ["--t", "-1"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "metacurate: error: --t" in bad.stderr
    import time

    for _ in range(50):  # no worker left behind (the kernel kills them with the command)
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        if str(out) not in ps:
            break
        time.sleep(0.1)
    assert str(out) not in ps


@pytest.mark.parametrize("value", ["-inf", "-1e5", "-nan"])
def test_a_negative_special_number_reaches_the_options_own_check(tmp_path, capsys, value):
    """``--t -inf`` gave argparse's "expected one argument"."""
    assert main(["curate", "a.parquet", "--out", str(tmp_path / "o"), "--t", value]) == 2
    err = capsys.readouterr().err
    assert "expected one argument" not in err and "--t: must be a finite number" in err


def test_metadata_info_of_a_missing_file_says_not_found(capsys):
    assert main(["metadata", "info", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "{lang}" not in err


def test_an_out_ending_in_a_slash_prints_single_slashes(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.reliability.conftest import cli

    pq.write_table(pa.table({"text": ["a photo of a dog"] * 50}), tmp_path / "p.parquet")
    r = cli("curate", tmp_path / "p.parquet", "--out", f"{tmp_path / 'o'}/", "--t", "5")
    assert r.returncode == 0, r.stderr
    assert "//" not in r.stdout.replace("://", "")
    assert f"{tmp_path / 'o'}/curated/" in r.stdout
