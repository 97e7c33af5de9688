"""The report in a real browser: headless Chromium renders it offline, the DOM it builds has
every section and the manifest's numbers, and a laptop-sized screenshot is written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from metacurate.report import write_report
from tests.conftest import require_system
from tests.report.test_report import check_page

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # any fetch would fail: the page must not need one
]


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_in_headless_chromium(run_dir, tmp_path):
    exe = _chromium()
    require_system("chromium (apt-get install chromium)", exe is not None)
    page = write_report(run_dir)
    url = page.resolve().as_uri()

    dumped = _run(exe, tmp_path / "profile", "--dump-dom", url)
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    check_page(dumped.stdout, manifest)

    shot = Path(os.environ.get("METACURATE_SCREENSHOT", tmp_path / "report.png"))
    shot.parent.mkdir(parents=True, exist_ok=True)
    taken = _run(exe, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1366,900", url)
    assert taken.returncode == 0, taken.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1366, 900)
