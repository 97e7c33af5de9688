"""One index writer for both matchers (metaclip1's span table, metaclip2's unit-span table):
a failed write leaves no temporary folder, and a writer that loses the race to another one
(whose folder is identical) keeps the winner's folder instead of failing."""

from __future__ import annotations

import os

import numpy as np
import pytest

from metacurate.files import is_temporary
from metacurate.match.matcher import Matcher
from metacurate.match.metaclip2 import worldwide_kernel_available

ENTRIES = ["dog", "new york", "猫", "C++", "ข้าว"]


def _matcher(mode: str) -> Matcher:
    if not worldwide_kernel_available():
        pytest.skip("the compiled kernels are not built")
    return Matcher(ENTRIES, mode=mode)


@pytest.mark.parametrize("mode", ["metaclip1", "metaclip2"])
def test_a_failed_write_leaves_no_temporary_folder(tmp_path, monkeypatch, mode):
    m = _matcher(mode)
    calls = []

    def failing_save(*args, **kwargs):
        calls.append(1)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", failing_save)
    with pytest.raises(OSError):
        m.save(tmp_path / "index")
    assert calls
    assert [p.name for p in tmp_path.rglob("*") if is_temporary(p)] == []
    assert not (tmp_path / "index").exists()


@pytest.mark.parametrize("mode", ["metaclip1", "metaclip2"])
def test_a_writer_that_loses_the_race_keeps_the_winners_folder(tmp_path, monkeypatch, mode):
    m = _matcher(mode)
    winner = tmp_path / "winner"
    m.save(winner)
    target = tmp_path / "index"
    real_replace = os.replace

    def other_process_first(src, dst):  # another process commits the same folder just before
        if os.fspath(dst) == os.fspath(target) and not target.exists():
            real_replace(winner, target)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", other_process_first)
    assert m.save(target) == target
    monkeypatch.undo()
    assert [p.name for p in tmp_path.rglob("*") if is_temporary(p)] == []
    loaded = Matcher.load(target, m.metadata, mode=mode)
    assert (
        loaded.match_batch(["a dog in new york", "猫 C++"]).to_pylist()
        == m.match_batch(["a dog in new york", "猫 C++"]).to_pylist()
    )
