"""Links in a pool folder: a folder linking back to itself is walked once, without a hang and
without a nested path; a hard-linked file (same device and inode) is read once."""

from __future__ import annotations

import signal
from contextlib import contextmanager

from metacurate.pool import expand_pool
from tests.pool.helpers import ROWS, write_parquet


@contextmanager
def _deadline(seconds: int):
    def _hang(signum, frame):
        raise AssertionError(f"still walking after {seconds} s")

    old = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_folder_links_back_to_itself_are_walked_once(tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    write_parquet(pool / "a.parquet", ROWS)
    (pool / "sub").mkdir()
    write_parquet(pool / "sub" / "b.parquet", ROWS)
    (pool / "a").symlink_to(".")
    (pool / "b").symlink_to(".")
    (pool / "sub" / "up").symlink_to("..")
    with _deadline(20):
        sources = expand_pool([str(pool)])
    assert [s.path for s in sources] == [str(pool / "a.parquet"), str(pool / "sub" / "b.parquet")]


def test_a_linked_folder_outside_is_read(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    write_parquet(other / "c.parquet", ROWS)
    pool = tmp_path / "pool"
    pool.mkdir()
    (pool / "more").symlink_to(other)
    assert [s.path for s in expand_pool([str(pool)])] == [str(pool / "more" / "c.parquet")]


def test_a_folder_and_a_link_to_it_give_the_real_path(tmp_path):
    pool = tmp_path / "pool"
    (pool / "sub").mkdir(parents=True)
    write_parquet(pool / "sub" / "b.parquet", ROWS)
    (pool / "alias").symlink_to("sub")
    assert [s.path for s in expand_pool([str(pool)])] == [str(pool / "sub" / "b.parquet")]


def test_a_hard_linked_input_is_read_once(tmp_path, capsys):
    from metacurate.guard import dedupe_sources

    pool = tmp_path / "pool"
    pool.mkdir()
    write_parquet(pool / "a.parquet", ROWS)
    (pool / "b.parquet").hardlink_to(pool / "a.parquet")
    write_parquet(pool / "c.parquet", ROWS)
    kept = dedupe_sources(expand_pool([str(pool)]))
    assert [s.path for s in kept] == [str(pool / "a.parquet"), str(pool / "c.parquet")]
    assert "b.parquet is the same file as" in capsys.readouterr().err
