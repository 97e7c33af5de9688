"""Options declared once: every config field's flag is generated from the field, and the flags
read back into the same typed config the Python API takes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate.cli import build_parser
from metacurate.cli_flags import cli_fields, run_config
from metacurate.config import BalanceConfig, EngineConfig, MatchConfig

PARTS = {"curate": (MatchConfig, BalanceConfig, EngineConfig), "balance": (BalanceConfig,)}


def _flags(command: str) -> dict[str, object]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return {a.dest: a for a in sub._actions}


@pytest.mark.parametrize("command", sorted(PARTS))
def test_every_field_has_its_flag_with_the_fields_help(command):
    flags = _flags(command)
    for cls in PARTS[command]:
        for f in cli_fields(cls):
            assert f.name in flags, f"{cls.__name__}.{f.name} has no flag in {command}"
            action = flags[f.name]
            assert action.help.split("(default")[0].strip() in f.metadata["help"].format(
                default=f.default
            )
            if f.metadata["choices"]:
                assert tuple(action.choices) == f.metadata["choices"]


def test_flags_read_back_into_the_configs_the_api_takes():
    args = build_parser().parse_args(
        [
            "curate",
            "pool/",
            "--out",
            "o",
            "--t",
            "7",
            "--seed",
            "3",
            "--image-column",
            "url",
            "--text-column",
            "TEXT",
            "--columns",
            "a,b",
            "--mode",
            "metaclip2",
            "--workers",
            "2",
            "--engine",
            "ray",
            "--no-progress",
        ]
    )
    cfg = run_config(args)
    assert cfg.match == dataclasses.replace(
        MatchConfig(), text_column="TEXT", csv_columns=("a", "b"), mode="metaclip2"
    )
    assert cfg.balance == BalanceConfig(t=7.0, seed=3, image_column="url")
    assert cfg.engine == dataclasses.replace(
        EngineConfig(), kind="ray", workers=2, progress=False, start_method=cfg.engine.start_method
    )


@pytest.mark.parametrize(("flag", "value"), [("--progress", True), ("--no-progress", False)])
def test_progress_flag_sets_the_engine_field(flag, value):
    args = build_parser().parse_args(["curate", "p", "--out", "o", "--t", "1", flag])
    assert run_config(args).engine.progress is value
    args = build_parser().parse_args(["curate", "p", "--out", "o", "--t", "1"])
    assert run_config(args).engine.progress is None


def test_progress_shows_bars_without_a_terminal(tmp_path):
    pool = tmp_path / "pool.parquet"
    pq.write_table(pa.table({"text": ["a dog", "a cat"] * 10, "url": ["u"] * 20}), pool)
    cmd = [sys.executable, "-m", "metacurate", "curate", str(pool), "--t", "5", "--workers", "1"]
    quiet = subprocess.run([*cmd, "--out", str(tmp_path / "a")], capture_output=True, text=True)
    shown = subprocess.run(
        [*cmd, "--out", str(tmp_path / "b"), "--progress"], capture_output=True, text=True
    )
    assert quiet.returncode == shown.returncode == 0, shown.stderr
    assert "match" not in quiet.stderr and "it/s" not in quiet.stderr
    assert "match" in shown.stderr and "file" in shown.stderr
