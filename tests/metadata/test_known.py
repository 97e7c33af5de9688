"""The remembered metadata loads (metadata/known.py): the same metadata, hash, canonical
encoding and warnings as a load without a cache, and nothing trusted that does not check out."""

from __future__ import annotations

import gzip
import json
import os
import warnings
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from metacurate.metadata.known import canonical_path
from metacurate.metadata.load import MetadataWarning, canonical_json, load_metadata


def _load(path: Path, cache: Path | None):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        md = load_metadata(path, cache)
    messages = [str(w.message) for w in caught if issubclass(w.category, MetadataWarning)]
    return md, messages


def _same(a, b) -> None:
    assert a.entries == b.entries
    assert a.hash == b.hash
    assert a.canonical_json() == b.canonical_json() == canonical_json(a.entries)


ENTRIES = st.lists(st.sampled_from(["dog", "cat", " cat", "sea lion ", "猫", "a\\b", '"q"', ""]))


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=ENTRIES.filter(bool), form=st.sampled_from(["json", "txt", "json.gz"]))
def test_remembered_load_equals_a_plain_load(tmp_path, entries, form):
    assume(not (form == "txt" and entries == [""]))  # one blank line: no entries at all
    folder = Path(os.urandom(6).hex())
    d = tmp_path / folder
    d.mkdir()
    path = d / f"m.{form}"
    text = json.dumps(entries) if form.startswith("json") else "\n".join(entries) + "\n"
    raw = text.encode("utf-8")
    path.write_bytes(gzip.compress(raw) if form.endswith(".gz") else raw)
    plain, plain_warnings = _load(path, None)
    first, first_warnings = _load(path, d / "cache")  # makes the record
    again, again_warnings = _load(path, d / "cache")  # uses it
    _same(plain, first)
    _same(plain, again)
    assert plain_warnings == first_warnings == again_warnings
    assert "_known_root" in again.__dict__  # the second load came from the record


def test_a_record_that_does_not_check_out_is_ignored(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(["dog", "cat", "sea lion"]))
    cache = tmp_path / "cache"
    right = load_metadata(path, cache)
    (record,) = [p for p in (cache / "metadata").glob("*-json-*.json")]
    data = json.loads(record.read_text())
    data["hash"] = "0" * 64  # another metadata's hash, the checksum left as it was
    record.write_text(json.dumps(data))
    md = load_metadata(path, cache)
    assert md.hash == right.hash and "_known_root" not in md.__dict__
    assert json.loads(record.read_text())["hash"] == right.hash  # written again
    record.write_text("{not json")
    assert load_metadata(path, cache).hash == right.hash


def test_a_damaged_canonical_copy_is_not_used(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(["dog", "cat"], indent=2))
    cache = tmp_path / "cache"
    load_metadata(path, cache)
    canonical_path(cache, load_metadata(path).hash).write_text('["dog","cow"]')
    md = load_metadata(path, cache)
    assert "_known_root" in md.__dict__
    assert md.canonical_json() == '["dog","cat"]'


def test_changed_bytes_are_loaded_afresh(tmp_path):
    path = tmp_path / "m.json"
    cache = tmp_path / "cache"
    path.write_text(json.dumps(["dog", "cat"]))
    load_metadata(path, cache)
    path.write_text(json.dumps(["dog", "cow"]))  # same length, other entries
    md = load_metadata(path, cache)
    assert md.entries == ("dog", "cow")
    assert md.hash == load_metadata(path).hash


def test_json_and_text_records_are_apart(tmp_path):
    """The same bytes read as JSON and as text are other metadata."""
    cache = tmp_path / "cache"
    (tmp_path / "m.json").write_text('["dog"]\n')
    (tmp_path / "m.txt").write_text('["dog"]\n')
    assert load_metadata(tmp_path / "m.json", cache).entries == ("dog",)
    assert load_metadata(tmp_path / "m.txt", cache).entries == ('["dog"]',)
    assert load_metadata(tmp_path / "m.txt", cache).entries == ('["dog"]',)


def test_an_unwritable_cache_only_costs_time(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(["dog", "cat"]))
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache folder should be")  # no folder can be made
    md = load_metadata(path, cache)
    assert md.hash == load_metadata(path).hash
    assert md.canonical_json() == '["dog","cat"]'


def test_curate_twice_writes_the_same_metadata_copy(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from metacurate.api import curate

    monkeypatch.setenv("METACURATE_CACHE", str(tmp_path / "cache"))
    pool = tmp_path / "pool"
    pool.mkdir()
    pq.write_table(pa.table({"text": ["a dog", "a cat, a dog", "sea lion"]}), pool / "p.parquet")
    md = tmp_path / "m.json"
    md.write_text(json.dumps(["dog", "cat", "sea lion"], indent=1))
    first = curate(pool, tmp_path / "a", metadata=md, t=1, report=False)
    assert (tmp_path / "cache" / "metadata").is_dir()
    second = curate(pool, tmp_path / "b", metadata=md, t=1, report=False)
    a = (tmp_path / "a" / "metadata.json").read_bytes()
    assert a == (tmp_path / "b" / "metadata.json").read_bytes()
    assert json.loads(a) == ["dog", "cat", "sea lion"]
    assert first["metadata"]["hash"] == second["metadata"]["hash"]


def test_the_second_load_reads_the_arrow_copy_not_the_file(tmp_path, monkeypatch):
    import pyarrow as pa

    from metacurate.metadata import load as load_module
    from metacurate.metadata.load import ArrowEntries

    path = tmp_path / "m.json"
    entries = ["dog", "cat", " cat", "猫", ""]
    path.write_text(json.dumps(entries))
    cache = tmp_path / "cache"
    first, _ = _load(path, cache)
    assert isinstance(first.entries, tuple)  # parsed, then remembered
    monkeypatch.setattr(load_module, "_parse", None)  # a second parse would fail
    again, messages = _load(path, cache)
    assert isinstance(again.entries, ArrowEntries)
    assert again.entries == tuple(entries) and tuple(entries) == again.entries
    assert again.arrow().equals(pa.array(entries)) and first.arrow().equals(again.arrow())
    assert (again.hash, again.canonical_json()) == (first.hash, first.canonical_json())
    assert len(messages) == 2 and "start or end with a space" in messages[1]
    assert "1 empty entries" in messages[0]  # the empty entry, warned from the cache too
    assert list(again.entries[1:3]) == ["cat", " cat"] and again[3] == "猫"


def test_a_damaged_arrow_copy_is_not_used(tmp_path):
    from metacurate.metadata.known import entries_path
    from metacurate.metadata.load import ArrowEntries

    path = tmp_path / "m.json"
    path.write_text(json.dumps(["dog", "cat"]))
    cache = tmp_path / "cache"
    load_metadata(path, cache)
    (copy,) = (cache / "metadata").glob("*.arrow")
    assert copy == entries_path(cache, _sha256(path), "json")
    data = copy.read_bytes()
    copy.write_bytes(data.replace(b"cat", b"cow"))  # well-formed Arrow, other entries
    md = load_metadata(path, cache)
    assert md.entries == ("dog", "cat") and not isinstance(md.entries, ArrowEntries)
    assert copy.read_bytes() == data  # written again
    copy.write_bytes(b"not arrow")
    assert load_metadata(path, cache).entries == ("dog", "cat")
    copy.unlink()
    assert load_metadata(path, cache).entries == ("dog", "cat")


def test_a_lone_surrogate_is_a_clear_error(tmp_path):
    """Valid JSON, but no text: the hash (of UTF-8) failed with a bare UnicodeEncodeError."""
    import pytest

    from metacurate.errors import MetacurateError

    path = tmp_path / "m.json"
    path.write_text('["dog", "\\ud800"]')
    for cache in (None, tmp_path / "cache"):
        with pytest.raises(MetacurateError, match=r"m.json: entry 1 .* lone surrogate"):
            load_metadata(path, cache)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
