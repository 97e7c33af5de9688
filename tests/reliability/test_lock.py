"""The output folder's lock: never held twice, never a link followed, never a file clobbered."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from metacurate.errors import MetacurateError
from metacurate.lock import LOCK_NAME, output_lock
from tests.reliability.conftest import REPO


def test_lock_race_has_no_overlap(tmp_path):
    """Four processes take and release the lock for 5 s: never two holders at once (the old
    lock unlinked its file before closing it: a contender locked the nameless inode while a
    third locked a new file)."""
    folder = tmp_path / "out"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.lock_race", str(folder), "5"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(4)
    ]
    results = [tuple(map(int, p.communicate(timeout=60)[0].split())) for p in procs]
    assert sum(a for a, _ in results) > 100, results
    assert sum(o for _, o in results) == 0, results


def test_a_planted_link_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).symlink_to(victim)
    with pytest.raises(MetacurateError, match="link"), output_lock(out):
        pass
    assert victim.read_text() == "precious"


def test_a_hard_link_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    os.link(victim, out / LOCK_NAME)
    with pytest.raises(MetacurateError, match="link"), output_lock(out):
        pass
    assert victim.read_text() == "precious"


def test_the_lock_file_stays_and_says_no_owner_after_a_run(tmp_path):
    out = tmp_path / "out"
    with output_lock(out) as path:
        inode = path.stat().st_ino
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert path.stat().st_ino == inode and path.read_text() == ""
    with output_lock(out):  # taken again, no takeover message needed
        pass


def test_a_lock_file_removed_while_held_is_not_shared(tmp_path):
    """Someone deletes the lock file while a run holds it: the next run must not lock the
    nameless old inode's successor while the first still runs... it makes a new file and
    holds that; the identity check keeps a contender of the old inode out."""
    out = tmp_path / "out"
    with output_lock(out) as path:
        fd = os.open(path, os.O_RDWR)  # a contender that opened the old file
        path.unlink()
        with output_lock(out):  # a new file: a second holder is possible only by deletion
            pass
        os.close(fd)
