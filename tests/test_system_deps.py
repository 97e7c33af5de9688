"""The README names every system package CI installs for the tests (a contributor reading it
must not find out from a skipped browser test that ``chromium-driver`` is needed)."""

from __future__ import annotations

import re

from tests.conftest import REPO


def test_readme_names_every_package_ci_installs_for_tests():
    run = (REPO / ".ci" / "run").read_text()
    (line,) = [ln for ln in run.splitlines() if "apt-get install" in ln]
    packages = [p for p in re.split(r"\s+", line.split("apt-get install", 1)[1]) if p]
    wanted = [p for p in packages if not p.startswith("-") and p not in ("gcc", "\\")]
    readme = (REPO / "README.md").read_text()
    for name in ("wordnet-base", "chromium", "chromium-driver"):
        assert name in wanted
        assert f"`{name}`" in readme, name
