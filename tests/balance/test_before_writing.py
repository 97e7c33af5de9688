"""``balance`` refuses what it can before any folder is made: a work folder never matched
(a typo), an output folder that holds the inputs."""

from __future__ import annotations

from tests.reliability.conftest import cli, one_line_error


def test_a_typo_in_the_work_folder_makes_no_folder(tmp_path):
    work, out = tmp_path / "typo-work", tmp_path / "out-x"
    line = one_line_error(cli("balance", work, "--t", "5", "--out", out))
    assert "no stats.json" in line
    assert not work.exists() and not out.exists()
