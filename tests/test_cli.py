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
