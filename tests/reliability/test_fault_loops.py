"""A few trials of the random worker-kill and Ctrl-C loops (scripts/fault_loops.py; the long
loops are run by hand, docs/reliability.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.reliability.conftest import REPO


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["worker", "sigint"])
def test_fault_loop(kind):
    r = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "fault_loops.py"), kind, "--trials", "2"],
        capture_output=True, text=True, timeout=900, cwd=REPO,
    )  # fmt: skip
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-2000:])
    assert lines[-1]["summary"]["failed"] == 0
