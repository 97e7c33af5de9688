"""``report``, ``explain`` and ``stats`` as registered by ``metacurate.report.cli.register``."""

from __future__ import annotations

import argparse
import json

import pytest

from metacurate.errors import MetacurateError
from metacurate.report.cli import register
from tests.report.conftest import cli


def test_register_adds_documented_subcommands():
    parser = argparse.ArgumentParser(prog="metacurate")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    for name in ("report", "explain", "stats"):
        p = sub.choices[name]
        assert "example" in p.epilog and f"metacurate {name}" in p.epilog
        assert callable(p.get_default("func"))
    helps = {a.dest: a.help for a in sub._choices_actions}
    assert all(helps[n] for n in ("report", "explain", "stats"))


def test_report_command(run_dir, tmp_path, capsys):
    assert cli(["report", str(run_dir)]) == 0
    assert (run_dir / "report.html").exists()
    assert "report.html" in capsys.readouterr().out
    target = tmp_path / "r.html"
    assert cli(["report", str(run_dir), "-o", str(target)]) == 0
    assert target.stat().st_size > 10_000


def test_report_of_a_missing_folder(tmp_path):
    with pytest.raises(MetacurateError, match="no such folder"):
        cli(["report", str(tmp_path / "nope")])
    with pytest.raises(MetacurateError, match="no manifest.json or stats.json"):
        cli(["report", str(tmp_path)])


def test_stats_command(run_dir, capsys):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert cli(["stats", str(run_dir), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["manifest"]["curated_rows"] == manifest["curated_rows"]
    assert s["manifest"]["t"] == manifest["t"] and "inputs" not in s["manifest"]
    assert s["match"]["rows"] == manifest["pool_rows"]
    assert s["match"]["rows_matched"] == manifest["pool_rows_matched"]
    assert cli(["stats", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert f"{manifest['curated_rows']:,}" in out and "tail share" in out
