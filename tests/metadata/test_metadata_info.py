"""``metadata info`` and ``metadata diff``: functions and CLI handlers."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

import pytest

from metacurate.errors import MetacurateError
from metacurate.metadata.build import sources_path_for
from metacurate.metadata.cli import main, run_diff
from metacurate.metadata.info import describe_metadata, diff_metadata, unmatchable_reason
from metacurate.metadata.load import Metadata
from tests.metadata.helpers import make_wordnet, write


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("dog", None),
        ("dog's", None),
        ("St. Louis", "contains '.'"),
        ("U.S.", "contains '.'"),
        ("a,b", "contains ','"),
        ("why?", "contains '?'"),
        ("x:y", "contains ':'"),
        ("a;b", "contains ';'"),
        ("wow!", "contains '!'"),
        ("`code`", "contains '`'"),
        ("a\tb", "contains '\\t'"),
        ("a\nb", "contains '\\n'"),
        ("a\rb", "contains '\\r'"),
    ],
)
def test_unmatchable_reason(entry: str, reason: str | None) -> None:
    assert unmatchable_reason(entry) == reason


def test_describe_counts_and_examples() -> None:
    md = Metadata.from_list(["dog", "St. Louis", "dog", "", " cat", "U.S.", "why?"], name="x")
    doc = describe_metadata(md, examples=2)
    assert doc["entries"] == 7 and doc["hash"] == md.hash
    um = doc["unmatchable_metaclip1"]
    assert um["count"] == 3
    assert um["by_character"] == {".": 2, "?": 1}
    assert um["examples"] == [
        {"entry_id": 1, "entry": "St. Louis"},
        {"entry_id": 5, "entry": "U.S."},
    ]
    assert doc["duplicates"]["count"] == 1
    assert doc["duplicates"]["examples"] == [{"entry_id": 2, "first_id": 0, "entry": "dog"}]
    assert doc["empty"] == 1 and doc["edge_spaces"]["count"] == 1
    assert "sources" not in doc


def test_diff_added_removed_moved() -> None:
    a = Metadata.from_list(["dog", "cat", "bird", "fish"], name="a")
    b = Metadata.from_list(["cat", "dog", "bird", "cow", "dog"], name="b")
    doc = diff_metadata(a, b)
    assert doc["identical"] is False and doc["common"] == 3
    assert doc["added"] == {"count": 1, "examples": [{"entry_id": 3, "entry": "cow"}]}
    assert doc["removed"] == {"count": 1, "examples": [{"entry_id": 3, "entry": "fish"}]}
    assert doc["moved"]["count"] == 2
    assert doc["moved"]["examples"] == [
        {"from_id": 1, "to_id": 0, "entry": "cat"},
        {"from_id": 0, "to_id": 1, "entry": "dog"},
    ]
    same = diff_metadata(a, Metadata.from_list(list(a.entries), name="a2"))
    assert same["identical"] is True and same["added"]["count"] == 0


def test_info_and_diff_cli(tmp_path: Path, capsys) -> None:
    wn = make_wordnet(tmp_path / "wn")
    uni = write(tmp_path / "u.txt", "U.S. 500\ndog 900\nzebra 200\n")
    m1 = tmp_path / "m1.json"
    m2 = tmp_path / "m2.json"
    assert main(["metadata", "build", "--out", str(m1), "--wordnet", str(wn)]) == 0
    args = ["--no-digits", "--wordnet", str(wn), "--unigrams", str(uni)]
    assert main(["metadata", "build", "--out", str(m2), *args]) == 0
    capsys.readouterr()

    assert main(["metadata", "info", str(m2), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["entries"] == 7 + 2  # fake WordNet + "U.S." and "zebra"
    assert doc["sources"]["first_source"] == {"wordnet": 7, "wiki_unigram": 2}
    assert doc["sources"]["contains"] == {"wordnet": 7, "wiki_unigram": 3}
    assert doc["unmatchable_metaclip1"]["examples"] == [{"entry_id": 7, "entry": "U.S."}]

    assert main(["metadata", "info", str(m2)]) == 0
    text = capsys.readouterr().out
    assert "entries       9" in text and "wiki_unigram" in text
    assert "1 entries can never match under mode metaclip1" in text and "'U.S.'" in text

    assert main(["metadata", "diff", str(m1), str(m2), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["removed"]["count"] == 100  # the digits
    assert d["added"]["count"] == 2 and d["moved"]["count"] == 7
    assert main(["metadata", "diff", str(m1), str(m1)]) == 0
    assert "identical" in capsys.readouterr().out

    # a side file that does not describe the metadata beside it is a user error
    sources_path_for(m1).write_bytes(sources_path_for(m2).read_bytes())
    assert main(["metadata", "info", str(m1)]) == 2
    assert "rebuild both or delete the side file" in capsys.readouterr().err
    with pytest.raises(MetacurateError, match="metadata file not found"):
        run_diff(Namespace(a=str(tmp_path / "missing.json"), b=str(m1), examples=5, json=False))
