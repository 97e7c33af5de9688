"""A metadata file's format: ``.json`` / ``.txt`` in any case and a download copy's number say
it; any other name is read by content (a JSON list starts with ``[``). Text files split at
``\\r\\n``, ``\\n`` or a lone ``\\r``; blank lines (empty entries) are warned about."""

from __future__ import annotations

import gzip
import warnings

import pytest

from metacurate.metadata.load import MetadataWarning, load_metadata

LIST = b'["dog", "cat", "red car"]'
ENTRIES = ("dog", "cat", "red car")


@pytest.mark.parametrize(
    "name", ["metadata.JSON", "metadata.json.1", "metadata (1).json", "metadata", "entries.list"]
)
def test_a_json_list_is_read_as_json_whatever_the_name(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(LIST)
    assert load_metadata(path).entries == ENTRIES
    gz = tmp_path / (name + ".gz")
    gz.write_bytes(gzip.compress(LIST))
    assert load_metadata(gz).entries == ENTRIES


def test_a_txt_file_stays_text_and_unknown_text_is_text(tmp_path):
    (tmp_path / "a.txt").write_text('["dog"]\ncat\n')
    assert load_metadata(tmp_path / "a.txt").entries == ('["dog"]', "cat")
    (tmp_path / "noext").write_text("dog\ncat\n")
    assert load_metadata(tmp_path / "noext").entries == ("dog", "cat")


@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"])
def test_every_line_end_splits_entries(tmp_path, end):
    path = tmp_path / "m.txt"
    path.write_bytes(end.join(ENTRIES).encode() + end.encode())
    assert load_metadata(path).entries == ENTRIES


def test_blank_lines_are_warned_about(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("dog\n\ncat\n")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert load_metadata(path).entries == ("dog", "", "cat")
    assert any("1 empty entries" in str(w.message) for w in seen)
    with pytest.warns(MetadataWarning, match="empty entries"):
        load_metadata(path, cache=tmp_path / "cache")
    with pytest.warns(MetadataWarning, match="empty entries"):  # recalled from the cache
        load_metadata(path, cache=tmp_path / "cache")
