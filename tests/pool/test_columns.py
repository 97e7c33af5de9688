"""resolve_columns: explicit names must exist; otherwise the usual names, exact case first."""

from __future__ import annotations

import pyarrow as pa
import pytest

from metacurate.errors import MetacurateError
from metacurate.pool import Columns, resolve_columns


def _schema(*names: str) -> pa.Schema:
    return pa.schema([(n, pa.string()) for n in names])


def test_auto_detect_common_layouts():
    laion = _schema("URL", "TEXT", "__index_level_0__")
    assert resolve_columns(laion) == Columns(text="TEXT", url="URL", uid=None)
    datacomp = _schema("uid", "url", "text", "original_width")
    assert resolve_columns(datacomp) == Columns(text="text", url="url", uid="uid")
    cc3m = _schema("caption", "url")
    assert resolve_columns(cc3m) == Columns(text="caption", url="url", uid=None)
    wds = _schema("__key__", "text", "url", "key")
    # img2dataset's per-run key and WebDataset's __key__ are never taken as the uid (issue 11)
    assert resolve_columns(wds) == Columns(text="text", url="url", uid=None)


def test_exact_match_beats_case_insensitive_and_order():
    # "caption" (exact, 2nd choice) wins over "Text" (exact, lower choice than "text").
    assert resolve_columns(_schema("Text", "caption")).text == "caption"
    # No exact match: case-insensitive in TEXT_NAMES order.
    assert resolve_columns(_schema("Alt_Text", "CapTion")).text == "CapTion"
    assert resolve_columns(_schema("Image_URL", "alt")).url == "Image_URL"


def test_plain_id_is_not_a_uid():
    assert resolve_columns(_schema("id", "text")).uid is None


def test_explicit_names():
    s = _schema("desc", "link", "id")
    assert resolve_columns(s, text="desc", uid="id") == Columns(text="desc", url="link", uid="id")


def test_missing_explicit_column_lists_columns():
    with pytest.raises(MetacurateError) as err:
        resolve_columns(_schema("a", "b", "c"), text="x", where="pool/f.parquet")
    msg = str(err.value)
    assert msg.startswith("pool/f.parquet: no column 'x'")
    assert "columns found: a, b, c" in msg and "--text-column" in msg
    with pytest.raises(MetacurateError, match="--url-column"):
        resolve_columns(_schema("text"), url="u")
    with pytest.raises(MetacurateError, match="--uid-column"):
        resolve_columns(_schema("text"), uid="u")


def test_no_text_column_says_what_to_do():
    with pytest.raises(MetacurateError) as err:
        resolve_columns(_schema("url", "width"), where="f.csv")
    msg = str(err.value)
    assert "f.csv" in msg and "url, width" in msg and "--text-column" in msg
