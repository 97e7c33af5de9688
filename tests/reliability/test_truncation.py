"""The truncation matrix: each artifact of a finished output folder cut to half its size, then
``curate`` (the same command), ``report``, ``stats``, ``plan`` and ``explain``. Every cell is
"rebuilt, identical" (curate) or the command's undamaged output, or one line and exit 2 naming
the damaged file; never a traceback, never another result."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.engine.test_resume import snapshot
from tests.reliability.conftest import cli

ARGS = ("--t", "20", "--seed", "5", "--workers", "1", "--batch-rows", "500")
ARTIFACTS = [
    "metadata.json",
    "stats.json",
    "entry_counts.parquet",
    "manifest.json",
    "curated_entry_counts.parquet",
    "uids.npy",
    "report.html",
    "matches/*[0-9a-f].parquet",
    "matches/*.counts.parquet",
    "matches/*.done.json",
    "curated/*.parquet",
    "balance/*.decisions.parquet",
    "balance/*.counts.parquet",
    "balance/*.done.json",
]


def _reads(out: Path, scratch: Path, made_as: Path) -> dict[str, tuple[int, str, str]]:
    """(exit code, output, errors) of the commands that only read ``out``, a copy of the
    folder made as ``made_as`` (the paths in it read OUT)."""
    page = scratch / "report.html"
    commands = {
        "report": ("report", out, "-o", page),
        "stats": ("stats", out),
        "plan": ("plan", out, "--t", "20"),
        "explain": ("explain", "--workdir", out, "a photo of a dog"),
    }
    got = {}
    for name, args in commands.items():
        r = cli(*args)
        text = r.stdout
        if name == "report" and r.returncode == 0:
            text = re.sub(r" in [0-9.]+ s<", " in - s<", page.read_text())
        text = text.replace(str(out), "OUT").replace(str(made_as), "OUT")
        got[name] = (r.returncode, text, r.stderr)
    return got


@pytest.fixture(scope="module")
def finished(tmp_path_factory, pool):
    root = tmp_path_factory.mktemp("finished")
    out = root / "out"
    r = cli("curate", pool, "--out", out, *ARGS)
    assert r.returncode == 0, r.stderr
    scratch = root / "scratch"
    scratch.mkdir()
    return out, snapshot(out), _reads(out, scratch, out)


@pytest.mark.slow
@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_half_truncated_artifact(tmp_path, pool, finished, artifact):
    src, clean, reads = finished
    out = tmp_path / "out"
    shutil.copytree(src, out)
    victim = sorted(out.glob(artifact))[-1]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    cells = {}
    for name, (code, text, err) in _reads(out, tmp_path, src).items():
        if code == 0 and text == reads[name][1]:
            cells[name] = "same output"
            continue
        lines = [ln for ln in err.splitlines() if ln.startswith("metacurate: error:")]
        one = code == 2 and "Traceback" not in err and len(lines) == 1
        cells[name] = "one line" if one and victim.name in lines[0] else (code, err[-600:])
    r = cli("curate", pool, "--out", out, *ARGS)
    got = snapshot(out)
    same = sorted(got) == sorted(clean) and all(got[k] == clean[k] for k in got)
    ok = r.returncode == 0 and same
    cells["curate"] = "rebuilt, identical" if ok else (r.returncode, r.stderr[-600:])
    print(f"\nMATRIX {artifact}: {cells}")
    assert all(isinstance(c, str) for c in cells.values()), cells
