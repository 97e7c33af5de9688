"""Why a Slurm array element ended without a result, in one line naming the task and the fix.

Two sources, as Slurm gives them: the element's state (``squeue`` while Slurm keeps finished
jobs, else ``sacct`` where the cluster has accounting) and the lines ``slurmstepd`` writes
into the element's stderr log when it ends a job (``CANCELLED AT ... DUE TO TIME LIMIT``,
``Exceeded job memory limit``, ``oom_kill``). The log decides where the two differ: a job
killed for memory by the accounting plugin ends in state FAILED.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

#: States of an element that will not run again (requeued ones go back to PENDING).
FINISHED = frozenset(
    {
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMEOUT",
        "OUT_OF_MEMORY",
        "NODE_FAIL",
        "BOOT_FAIL",
        "DEADLINE",
        "PREEMPTED",
        "SPECIAL_EXIT",
        "REVOKED",
    }
)


def sacct_states(array_id: str) -> dict[str, str]:
    """``{"12_3": "TIMEOUT", ...}`` from sacct; {} where the cluster keeps no accounting."""
    try:
        done = subprocess.run(
            ["sacct", "-n", "-P", "-X", "-j", array_id, "-o", "JobID,State"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if done.returncode != 0:
        return {}
    states = {}
    for line in done.stdout.splitlines():
        ident, _, state = line.strip().partition("|")
        if ident and state:
            states[ident] = state.split()[0]  # "CANCELLED by 0" -> "CANCELLED"
    return states


def _log_tail(path: Path, size: int = 8192) -> str | None:
    """The end of an element's stderr log; None when it does not exist (here)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - size))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return None


def _last_error(log: str) -> str:
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "Error" in ln or "error" in ln:
            return ln[:200]
    return lines[-1][:200] if lines else "no message"


def describe_failure(
    label: str, job_id: str, state: str, stderr: Path, config: Any, log_dir: Path
) -> str:
    """One sentence: ``<task> (Slurm job 12_3) <what happened>: <what to do>``. ``config``
    is the EngineConfig (its limits are named); ``state`` "" when Slurm no longer knows."""
    who = f"{label} (Slurm job {job_id})"
    log = _log_tail(stderr)
    text = log or ""
    if state == "TIMEOUT" or "DUE TO TIME LIMIT" in text:
        limit = f"{config.slurm_time} min" if config.slurm_time else "the partition's"
        return (
            f"{who} was killed at its time limit ({limit}): raise --slurm-time, or make "
            "tasks smaller (--part-rows)"
        )
    lowered = text.lower()
    if state == "OUT_OF_MEMORY" or "memory limit" in lowered or "oom_kill" in lowered:
        limit = config.slurm_mem or "the partition's default"
        return (
            f"{who} was killed for using more memory than its limit ({limit}): raise "
            "--slurm-mem, or use a smaller --batch-rows"
        )
    if state == "CANCELLED" or "CANCELLED AT" in text:
        return f"{who} was cancelled (scancel, or the cluster's administrators)"
    if state in ("NODE_FAIL", "BOOT_FAIL"):
        return f"{who} ended with its node ({state})"
    if state == "PREEMPTED":
        return f"{who} was preempted and not requeued"
    if log is None:
        return (
            f"{who} ended ({state or 'state unknown'}) without writing its log to {log_dir}: "
            "the compute nodes cannot see or write that folder; give --slurm-log-dir a "
            "folder on a file system every node shares"
        )
    if state == "COMPLETED":
        return (
            f"{who} completed, but its result never appeared in {log_dir}: the compute "
            "nodes write where this machine cannot see; give --slurm-log-dir a folder on a "
            "file system every node shares"
        )
    return f"{who} failed ({state or 'state unknown'}): {_last_error(text)} (log: {stderr})"
