"""The Slurm engine's errors that need no cluster: one line, exit 2, naming the fix; and the
reading of Slurm's own kill lines (as slurmstepd writes them into a job's stderr)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from metacurate import MetacurateError
from metacurate.config import ConfigError, EngineConfig
from metacurate.engine import open_engine
from metacurate.engine.slurm_diagnose import describe_failure
from metacurate.engine.slurm_engine import sbatch_options


def test_no_sbatch_on_path_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MetacurateError, match="no sbatch on PATH: run on a Slurm login node"):
        open_engine(EngineConfig(kind="slurm"))


def test_cli_without_sbatch_exits_2_with_one_line(tmp_path):
    pool = tmp_path / "p.jsonl"
    pool.write_text('{"text": "a dog"}\n')
    env = {**os.environ, "PATH": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "metacurate.cli", "match", str(pool), "--out", str(tmp_path / "o"),
         "--engine", "slurm"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "--engine slurm: no sbatch on PATH" in r.stderr


def test_sbatch_options_become_submitit_parameters():
    assert sbatch_options("--account=lab --qos=low --exclusive") == {
        "account": "lab",
        "qos": "low",
        "exclusive": True,
    }
    assert sbatch_options("--mail-type=END") == {"mail_type": "END"}
    assert sbatch_options(None) == {}
    with pytest.raises(MetacurateError, match="'account=lab' is not an sbatch option"):
        sbatch_options("account=lab")
    with pytest.raises(MetacurateError, match="--slurm-sbatch"):
        sbatch_options("--comment='unclosed")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slurm_mem", "4 GB", "is not a size like 500M"),
        ("slurm_mem", "0", "is not a size"),
        ("slurm_time", 0, "must be >= 1"),
        ("slurm_cpus", 0, "must be >= 1"),
    ],
)
def test_bad_slurm_limits_are_config_errors(field, value, message):
    with pytest.raises(ConfigError, match=message):
        EngineConfig(kind="slurm", **{field: value}).check()


def _failure(tmp_path: Path, state: str, log: str | None, **limits) -> str:
    err = tmp_path / "12_3_0_log.err"
    if log is not None:
        err.write_text(log)
    config = EngineConfig(kind="slurm", **limits)
    return describe_failure("match_task part-3-ab", "12_3", state, err, config, tmp_path)


def test_the_reasons_slurm_gives_are_named_with_the_limit_to_raise(tmp_path):
    timeout = "slurmstepd-vm: error: *** JOB 15 ON vm CANCELLED AT 2026-12-07T09:31:40 DUE TO TIME LIMIT ***\n"  # noqa: E501
    memory = (
        "slurmstepd-vm: error: StepId=6.batch exceeded memory limit (644247552 > 104857600), "
        "being killed\nslurmstepd-vm: error: *** JOB 6 ON vm CANCELLED AT 2026-12-07T09:29:16 "
        "***\nslurmstepd-vm: error: Exceeded job memory limit\n"
    )
    cancelled = "slurmstepd-vm: error: *** JOB 16 ON vm CANCELLED AT 2026-12-07T09:31:40 ***\n"
    assert _failure(tmp_path, "TIMEOUT", timeout, slurm_time=7) == (
        "match_task part-3-ab (Slurm job 12_3) was killed at its time limit (7 min): raise "
        "--slurm-time, or make tasks smaller (--part-rows)"
    )
    assert "time limit (the partition's)" in _failure(tmp_path, "", timeout)  # sacct-less
    assert "more memory than its limit (1G): raise --slurm-mem" in _failure(
        tmp_path, "FAILED", memory, slurm_mem="1G"
    )
    assert "more memory" in _failure(tmp_path, "OUT_OF_MEMORY", "")
    assert _failure(tmp_path, "CANCELLED", cancelled).endswith(
        "was cancelled (scancel, or the cluster's administrators)"
    )
    assert "was cancelled" in _failure(tmp_path, "CANCELLED", None)  # cancelled while queued
    assert "ended with its node (NODE_FAIL)" in _failure(tmp_path, "NODE_FAIL", "")
    failed = _failure(tmp_path, "FAILED", "Traceback\nImportError: no module named x\n")
    assert "failed (FAILED): ImportError: no module named x (log:" in failed


def test_a_log_folder_the_nodes_do_not_share_is_named(tmp_path):
    unseen = _failure(tmp_path, "FAILED", None)
    assert f"without writing its log to {tmp_path}: the compute nodes cannot see" in unseen
    assert "give --slurm-log-dir a folder on a file system every node shares" in unseen
    lost = _failure(tmp_path, "COMPLETED", "")
    assert "completed, but its result never appeared" in lost
