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
    (record,) = [p for p in (cache / "metadata").iterdir() if "-json-" in p.name]
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
