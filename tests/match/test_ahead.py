"""The CLI's head start (match/ahead.py): the metadata and its verified index from a thread,
the same as the run would have made them itself, errors where the run would raise them."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate.cli import build_parser, main
from metacurate.config import EngineConfig, MatchConfig, RunConfig
from metacurate.errors import MetacurateError
from metacurate.kernel import native_available
from metacurate.match.ahead import Ahead, can_go_ahead
from metacurate.match.index_cache import index_folder
from metacurate.metadata import load_metadata


def _config(tmp_path, metadata, mode="metaclip1") -> RunConfig:
    return RunConfig(
        match=MatchConfig(metadata=str(metadata), mode=mode),
        engine=EngineConfig(index_cache=str(tmp_path / "cache")),
    )


def test_ahead_loads_the_metadata_and_readies_its_index(tmp_path):
    md = tmp_path / "m.json"
    md.write_text(json.dumps(["dog", "cat", "sea lion"]))
    before = threading.active_count()
    ahead = Ahead(_config(tmp_path, md))
    got = ahead.metadata()
    assert got.entries == load_metadata(md).entries and got.hash == load_metadata(md).hash
    index = ahead.index()
    assert threading.active_count() == before  # the thread has ended: a fork is safe
    if native_available():
        assert index is not None and index.metadata_hash == got.hash
        assert (index_folder(tmp_path / "cache", got.hash, "metaclip1") / "index.json").exists()
    else:
        assert index is None


def test_an_error_comes_out_where_the_run_would_raise_it(tmp_path):
    ahead = Ahead(_config(tmp_path, tmp_path / "missing.json"))
    with pytest.raises(MetacurateError, match="metadata file not found"):
        ahead.metadata()
    with pytest.raises(MetacurateError, match="metadata file not found"):
        ahead.index()


def test_only_one_list_goes_ahead(tmp_path):
    assert can_go_ahead(_config(tmp_path, "m.json"))
    assert not can_go_ahead(_config(tmp_path, "m", mode="metaclip2"))


def test_cli_curate_with_missing_metadata_is_one_line(tmp_path):
    pool = tmp_path / "pool.parquet"
    pq.write_table(pa.table({"text": ["a dog"]}), pool)
    r = subprocess.run(
        [sys.executable, "-m", "metacurate.cli", "curate", str(pool), "--out"]
        + [str(tmp_path / "o"), "--t", "5", "--metadata", str(tmp_path / "none.json")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"metacurate: error: metadata file not found: {tmp_path / 'none.json'}"
    ]


@pytest.mark.parametrize("command", ["match", "balance", "curate"])
def test_the_stages_parser_is_the_full_one_for_them(command, capsys):
    """A stage command is parsed without the other commands (their imports): same flags."""
    helps = []
    for stages_only in (False, True):
        with pytest.raises(SystemExit):
            build_parser(stages_only).parse_args([command, "--help"])
        helps.append(capsys.readouterr().out)
    assert helps[0] == helps[1] and "--workers" in helps[0]
    with pytest.raises(SystemExit):
        main([command, "x", "--out", "o", "--t", "5", "--no-such-flag"])
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err
