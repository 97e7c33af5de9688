"""The Slurm engine: the same task functions as the elements of Slurm job arrays, submitted
through submitit (one array per ``map``), their results read back from the log folder.

The driver submits, then waits: every poll it looks for result files of the elements not
known to be queued, and every few seconds asks ``squeue`` for the elements' states (finished
ones stay listed for ``MinJobAge``). An element that ended without a result is reported by
task with the reason Slurm gives (time limit, memory, cancelled, node failure); the others'
results are yielded as they come, so their completion records stand and a rerun retries only
the failed tasks. Where the task ran is recorded as the Ray engine records it.

Tasks run in a fresh Python per element (the driver's interpreter, ``sys.executable``, and
its environment: sbatch exports it), so each pays its imports once: docs/clusters.md sizes
tasks from the measured overhead (benchmarks/slurm_overhead.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from metacurate.config import EngineConfig
from metacurate.engine.ray_engine import peak_overlap
from metacurate.engine.slurm_diagnose import FINISHED, describe_failure, sacct_states
from metacurate.engine.submit import run_later
from metacurate.errors import EnvironmentFault, MetacurateError

T = TypeVar("T")
R = TypeVar("R")

#: Seconds between looks for result files (a stat per running element).
POLL_S = 0.25
#: A COMPLETED element's result may reach this machine later over a network file system.
RESULT_GRACE_S = 30.0


def _run_task(fn: Callable[[T], R], item: T) -> tuple[str, Any, tuple[str, float, float]]:
    """On the compute node: run one task; also say where (host) and when (start, end). A
    user mistake comes back as its class and message (no traceback), anything else raises
    (submitit records the traceback)."""
    from metacurate.engine.startup import tune_process

    tune_process()
    start = time.time()
    try:
        result: Any = fn(item)
        outcome = "ok"
    except MetacurateError as exc:
        result, outcome = (type(exc), str(exc)), "user-error"
    return outcome, result, (socket.gethostname(), start, time.time())


def task_label(fn: Callable, item: Any) -> str:
    """``match_task part-0-1a2b3c4d5e``: the task function's name and the item's
    ``task_id`` (else its repr)."""
    base = getattr(fn, "func", fn)
    name = getattr(base, "__name__", "task")
    ident = getattr(item, "task_id", None) or repr(item)[:80]
    return f"{name} {ident}"


def sbatch_options(text: str | None) -> dict[str, str | bool]:
    """``--account=lab --exclusive`` -> ``{"account": "lab", "exclusive": True}`` (submitit's
    ``additional_parameters``); anything not of the form ``--name[=value]`` is an error."""
    out: dict[str, str | bool] = {}
    try:
        tokens = shlex.split(text or "")
    except ValueError as exc:
        raise MetacurateError(f"--slurm-sbatch {text!r}: {exc}") from None
    for token in tokens:
        name, eq, value = token.partition("=")
        if not name.startswith("--") or len(name) < 3:
            raise MetacurateError(
                f"--slurm-sbatch: {token!r} is not an sbatch option of the form --name=value"
            )
        out[name[2:].replace("-", "_")] = value if eq else True
    return out


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else "no message"


def partitions() -> set[str]:
    """The cluster's partitions (``sinfo``)."""
    try:
        done = subprocess.run(
            ["sinfo", "-h", "-o", "%R"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnvironmentFault(f"--engine slurm: sinfo failed ({exc})") from None
    if done.returncode != 0:
        raise EnvironmentFault(
            f"--engine slurm: sinfo failed ({_first_line(done.stderr)}): is slurmctld reachable "
            "from this machine?"
        )
    return {p.strip() for p in done.stdout.split() if p.strip()}


def element_states(array_id: str) -> dict[str, str] | None:
    """``{"12_3": "RUNNING", ...}`` for an array (or one job), finished elements included
    while Slurm keeps them (``MinJobAge``); {} when Slurm no longer knows the job; None when
    squeue failed (try again later)."""
    try:
        done = subprocess.run(
            ["squeue", "-h", "-r", "-t", "all", "-j", array_id, "-o", "%i|%T"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return {} if "Invalid job id" in done.stderr else None
    states = {}
    for line in done.stdout.splitlines():
        ident, _, state = line.strip().partition("|")
        if ident and state:
            states[ident] = state
    return states


@dataclass
class _Array:
    """One submitted array: its jobs (submitit), items and what became of them."""

    array_id: str
    jobs: list
    items: list
    label: Callable[[Any], str]
    submitted: float = field(default_factory=time.monotonic)
    pending: dict[int, Any] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)
    ended_at: dict[int, float] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (task and job, why)
    done: int = 0

    def __post_init__(self) -> None:
        self.pending = dict(enumerate(self.jobs))


class SlurmEngine:
    """Runs tasks as Slurm job arrays through submitit: one array per ``map``, at most
    ``in_flight`` elements running at once (``--array=...%N``; default: all), each with
    ``slurm_cpus`` CPUs, ``slurm_mem`` memory and ``slurm_time`` minutes, in partition
    ``slurm_partition`` (default: the cluster's), logs and results under ``slurm_log_dir``
    (a folder every node sees)."""

    def __init__(self, config: EngineConfig, checkpoint: Callable[[str], None]) -> None:
        if shutil.which("sbatch") is None:
            raise MetacurateError(
                "--engine slurm: no sbatch on PATH: run on a Slurm login node (or inside an "
                "sbatch job), or use --engine local or ray"
            )
        try:
            import submitit
        except ImportError:
            raise MetacurateError(
                "--engine slurm needs submitit: pip install 'metacurate[slurm]'"
            ) from None
        self.submitit = submitit
        self.config = config
        self.checkpoint = checkpoint
        if config.slurm_partition is not None:
            known = partitions()
            if config.slurm_partition not in known:
                raise MetacurateError(
                    f"--slurm-partition {config.slurm_partition}: Slurm has no such partition "
                    f"(sinfo lists: {', '.join(sorted(known)) or 'none'})"
                )
        self.extra = sbatch_options(config.slurm_sbatch)
        # One folder per command: result files are named by job id, and a job id can come
        # again (a cluster's ids wrap, a test cluster starts anew).
        run = f"{time.strftime('%Y%m%d-%H%M%S')}-{socket.gethostname()}-{os.getpid()}"
        self.log_dir = Path(config.slurm_log_dir).expanduser().resolve() / run
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EnvironmentFault.from_oserror(exc, "making the Slurm log folder") from None
        self._spans: list[tuple[str, float, float]] = []
        self._arrays: list[str] = []
        self._live: set[str] = set()

    def _executor(self, n_items: int):
        ex = self.submitit.SlurmExecutor(folder=self.log_dir)
        c = self.config
        extra = dict(self.extra)
        if c.slurm_mem is not None:
            extra["mem"] = c.slurm_mem
        ex.update_parameters(
            job_name="metacurate",
            partition=c.slurm_partition,
            time=c.slurm_time,
            cpus_per_task=c.slurm_cpus,
            array_parallelism=min(n_items, c.in_flight or n_items),
            # No warning signal before the time limit: the tasks are not checkpointable, so
            # Slurm's own limit ends them and reports TIMEOUT (submitit's default signal
            # would stop them 90 s early).
            signal_delay_s=0,
            additional_parameters=extra or None,
        )
        return ex

    def map(self, fn: Callable, items: Sequence[T]) -> Iterator[R]:
        """Yield ``fn(item, checkpoint)`` for every item, in completion order, as the elements
        of one Slurm job array; after the last, raise one error naming the tasks that ended
        without a result."""
        items = list(items)
        if not items:
            return
        call = partial(_run_task, partial(fn, checkpoint=self.checkpoint))
        ex = self._executor(len(items))
        quiet = io.StringIO()  # submitit prints sbatch's stderr; the error below says it
        try:
            with contextlib.redirect_stderr(quiet), contextlib.redirect_stdout(quiet):
                jobs = ex.map_array(call, items)
        except self.submitit.core.utils.FailedJobError as exc:
            raise EnvironmentFault(
                f"--engine slurm: sbatch refused the job array: {_first_line(str(exc))}"
            ) from None
        array = _Array(str(jobs[0].job_id).split("_")[0], jobs, items, partial(task_label, fn))
        self._arrays.append(array.array_id)
        self._live.add(array.array_id)
        self._say(
            f"array {array.array_id}: {len(items)} task{'s' if len(items) != 1 else ''} "
            f"submitted ({self._limits()}); logs in {self.log_dir}"
        )
        yield from self._wait(array)
        self._live.discard(array.array_id)
        if array.failures:
            n = len(array.failures)
            more = ""
            if n > 1:  # the others by task and job, their reasons in the logs
                named = [who for who, _ in array.failures[1:6]]
                rest = f" and {n - 6} more" if n > 6 else ""
                more = f"; also {', '.join(named)}{rest} (logs in {self.log_dir})"
            raise EnvironmentFault(
                f"slurm: {n} of {len(items)} task{'s' if len(items) != 1 else ''} did not "
                f"finish: {array.failures[0][1]}{more}; rerun the same command to retry "
                f"{'them' if n > 1 else 'it'} (finished tasks are kept)"
            )

    def _limits(self) -> str:
        c = self.config
        return ", ".join(
            [
                f"partition {c.slurm_partition or '(default)'}",
                f"{c.slurm_cpus} CPU{'s' if c.slurm_cpus != 1 else ''}",
                f"time {c.slurm_time} min" if c.slurm_time else "time: the partition's",
                f"mem {c.slurm_mem}" if c.slurm_mem else "mem: the partition's",
            ]
            + ([f"at most {c.in_flight} at once"] if c.in_flight else [])
        )

    def _wait(self, array: _Array) -> Iterator[Any]:
        last_status = -1e9
        last_line = (time.monotonic(), "")
        while array.pending:
            now = time.monotonic()
            elapsed = now - array.submitted
            # squeue: every second at first, then less often (at most every 10 s).
            if now - last_status >= min(10.0, max(1.0, elapsed / 10)):
                states = element_states(array.array_id)
                if states == {}:  # Slurm no longer lists the job: its accounting may
                    states = sacct_states(array.array_id)
                if states is not None:
                    array.states = states
                last_status = now
            for i, job in list(array.pending.items()):
                state = array.states.get(str(job.job_id), "")
                if state == "PENDING":
                    continue
                if job.paths.result_pickle.exists():
                    del array.pending[i]
                    array.done += 1
                    yield self._outcome(job, array.label(array.items[i]))
                    continue
                self._check_ended(array, i, job, state, now)
            last_line = self._progress(array, last_line)
            if array.pending:
                time.sleep(POLL_S)
        took = time.monotonic() - array.submitted
        failed = f", {len(array.failures)} failed" if array.failures else ""
        self._say(
            f"array {array.array_id}: {array.done} of {len(array.items)} done{failed} in "
            f"{took:.1f} s"
        )

    def _check_ended(self, array: _Array, i: int, job: Any, state: str, now: float) -> None:
        """An element Slurm says has ended (or no longer knows) without a result file: after
        a grace period for a result still on its way, a failure of its task."""
        if not state:
            if now - array.submitted < RESULT_GRACE_S:
                return  # not listed yet, or squeue failed
        elif state not in FINISHED:
            return
        first = array.ended_at.setdefault(i, now)
        grace = RESULT_GRACE_S if state in ("COMPLETED", "") else 1.0
        if now - first < grace:
            return
        del array.pending[i]
        label = array.label(array.items[i])
        why = describe_failure(
            label, str(job.job_id), state, job.paths.stderr, self.config, self.log_dir
        )
        array.failures.append((f"{label} (Slurm job {job.job_id})", why))

    def _outcome(self, job: Any, label: str) -> Any:
        try:
            outcome, result, span = job.result()
        except self.submitit.core.utils.UncompletedJobError as exc:
            raise RuntimeError(
                f"slurm: {label} (Slurm job {job.job_id}) raised on the cluster:\n{exc}"
            ) from None
        if outcome == "user-error":
            cls, message = result
            try:
                raise cls(message)
            except TypeError:  # a class that takes other arguments
                raise MetacurateError(message) from None
        self._spans.append(span)
        return result

    def _progress(self, array: _Array, last: tuple[float, str]) -> tuple[float, str]:
        """A line when the counts change, at most every 10 s."""
        states = [array.states.get(str(j.job_id), "") for j in array.pending.values()]
        running = sum(s in ("RUNNING", "COMPLETING", "CONFIGURING") for s in states)
        queued = sum(s == "PENDING" for s in states)
        line = (
            f"array {array.array_id}: {array.done} of {len(array.items)} done, {running} "
            f"running, {queued} queued"
        )
        now = time.monotonic()
        if line != last[1] and now - last[0] >= 10 and array.pending:
            self._say(line)
            return now, line
        return last

    def _say(self, text: str) -> None:
        print(f"metacurate: slurm: {text}", file=sys.stderr, flush=True)

    def submit(self, fn: Callable[[T], R], arg: T) -> Callable[[], R]:
        """``fn(arg)`` runs here, in the driver, when the waiter is called (a job would queue
        for longer than the work takes)."""
        return run_later(fn, arg)

    def warm(self, n_items: int) -> None:
        """Nothing to start ahead: each element starts its own Python."""

    def describe(self) -> dict:
        """Where this command's tasks ran: the arrays, partition and limits, the most tasks
        seen running at once and the nodes they ran on."""
        c = self.config
        return {
            "kind": "slurm",
            "arrays": list(self._arrays),
            "partition": c.slurm_partition,
            "cpus_per_task": c.slurm_cpus,
            "time_min": c.slurm_time,
            "mem": c.slurm_mem,
            "tasks": len(self._spans),
            "peak_running": peak_overlap([(s, e) for _, s, e in self._spans]),
            "nodes_used": len({node for node, _, _ in self._spans}),
        }

    def close(self) -> None:
        """Cancel the arrays still running (an error or an interrupt in the driver): no task
        writes on once the output is unlocked."""
        for array_id in sorted(self._live):
            subprocess.run(["scancel", array_id], capture_output=True, check=False)
        self._live.clear()
        if self._spans:
            d = self.describe()
            self._say(
                f"{d['tasks']} task{'s' if d['tasks'] != 1 else ''} in "
                f"{len(self._arrays)} array{'s' if len(self._arrays) != 1 else ''}, at most "
                f"{d['peak_running']} running at once, on {d['nodes_used']} "
                f"node{'s' if d['nodes_used'] != 1 else ''}"
            )
            self._spans = []
