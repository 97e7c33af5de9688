"""Random faults against ``metacurate curate``, many times over (docs/reliability.md).

    python scripts/fault_loops.py worker --trials 50   # SIGKILL a random worker process
    python scripts/fault_loops.py sigint --trials 100  # Ctrl-C (SIGINT to the process group)

Each trial runs ``curate`` on a small generated pool with 3 workers and strikes at a random
moment within a clean run's duration. A trial passes when the struck run ends with exit 0 or 2
(worker) / 130 (sigint; 0 only when the run had ended before the signal, or had done its
work, its manifest written and its lock released, and was leaving; killed by the
signal itself, with Python's traceback, only while Python starts, before the command's first
line), with one line on stderr at most (no traceback, no "Exception ignored"), leaves no
process behind, and the rerun is byte-identical to a clean run. Prints
one JSON line per trial and a summary; exit 1 when a trial failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.engine.test_resume import snapshot  # noqa: E402  (the tests' notion of "identical")

from metacurate.lock import LOCK_NAME  # noqa: E402

ARGS = ("--t", "20", "--seed", "5", "--workers", "3", "--batch-rows", "250")


def _curate(pool: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "metacurate.cli", "curate", str(pool), "--out", str(out), *ARGS],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell's foreground job
        cwd=REPO,
    )


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``."""
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


def _wait_for_children(proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while proc.poll() is None and not _children(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(d.name))
    return alive


def _leaving(out: Path) -> bool:
    """Whether the run has done its work: its manifest written and its output folder's lock
    released (``/proc/locks``, read only: taking the lock to look would race the run). All
    it does then is print its summary and exit; a signal that lands in the kernel's exit of
    the process changes nothing any more."""
    try:
        inode = (out / LOCK_NAME).stat().st_ino
    except OSError:
        return False
    if not (out / "manifest.json").exists():
        return False
    locks = Path("/proc/locks").read_text().splitlines()
    return not any(line.split()[5].rsplit(":", 1)[-1] == str(inode) for line in locks)


def make_pool(root: Path) -> Path:
    from metacurate.demo import make_sample
    from metacurate.metadata import load_default_metadata

    md = load_default_metadata()
    pool = root / "pool"
    pool.mkdir()
    for i in range(4):
        make_sample(pool / f"part-{i}.parquet", md, rows=1500, seed=20 + i)
    return pool


def trial(kind: str, pool: Path, out: Path, clean: dict, span: float, rng: random.Random) -> dict:
    proc = _curate(pool, out)
    if kind == "worker":  # strike while there are workers: from the first one on
        _wait_for_children(proc, span)
        delay = rng.uniform(0.0, 0.5 * span)
    else:
        delay = rng.uniform(0.05, 0.9 * span)
    time.sleep(delay)
    struck = None
    leaving = False
    if proc.poll() is None:
        if kind == "worker":
            kids = _children(proc.pid)
            if kids:
                struck = rng.choice(kids)
                os.kill(struck, signal.SIGKILL)
        else:
            leaving = _leaving(out)
            struck = proc.pid
            os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=300)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        code = "timeout"
    time.sleep(0.2)
    left = _group_alive(proc.pid)
    # -2: killed by the SIGINT itself (a shell shows 130): it came while Python was still
    # importing, before metacurate's own code ran; Python prints its traceback then
    early = code == -2 and "in <module>" in err
    # sigint: 0 only when the run had ended before the signal, or had done its work and was
    # leaving (the signal may land in its exit)
    ended = struck is None or leaving
    expected = (0, 2) if kind == "worker" else (0, 130, -2) if ended else (130, -2)
    ok_code = code in expected
    again = subprocess.run(
        [sys.executable, "-m", "metacurate.cli", "curate", str(pool), "--out", str(out), *ARGS],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )  # fmt: skip
    same = again.returncode == 0 and snapshot(out) == clean
    # one line at most ("interrupted", the error): no traceback, no "Exception ignored"
    one_line = len(err.splitlines()) <= 1
    passed = ok_code and (one_line or early) and not left and same
    return {
        "delay": round(delay, 3),
        "struck": struck is not None,
        "leaving": leaving,
        "exit": code,
        "traceback": "Traceback" in err,
        "stderr_lines": len(err.splitlines()),
        "during_imports": early,
        "left": left,
        "rerun_identical": same,
        "passed": passed,
        **({} if passed else {"stderr": err[-1500:], "rerun_stderr": again.stderr[-800:]}),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=["worker", "sigint"])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    # a shell's background job ignores SIGINT, and so would every run started from here
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="fault-loops-"))
    try:
        pool = make_pool(root)
        started = time.monotonic()
        r = subprocess.run(
            [sys.executable, "-m", "metacurate.cli", "curate", str(pool), "--out",
             str(root / "clean"), *ARGS],
            capture_output=True, text=True, cwd=REPO,
        )  # fmt: skip
        span = time.monotonic() - started
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            return 1
        clean = snapshot(root / "clean")
        results = []
        for i in range(args.trials):
            out = root / f"t{i}"
            res = trial(args.kind, pool, out, clean, span, rng)
            shutil.rmtree(out, ignore_errors=True)
            results.append(res)
            print(json.dumps({"trial": i, **res}), flush=True)
        exits: dict = {}
        for res in results:
            exits[str(res["exit"])] = exits.get(str(res["exit"]), 0) + 1
        summary = {
            "kind": args.kind,
            "trials": len(results),
            "struck": sum(r["struck"] for r in results),
            "struck_leaving": sum(r["leaving"] for r in results),
            "exits": exits,
            "failed": sum(not r["passed"] for r in results),
            "clean_run_s": round(span, 2),
        }
        print(json.dumps({"summary": summary}), flush=True)
        return 1 if summary["failed"] else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
