"""WordNet synset names: MetaCLIP's rule, on a hand-made database and on Debian's WordNet 3.0."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from metacurate.errors import MetacurateError
from metacurate.metadata.build import BuildConfig, build_metadata
from metacurate.metadata.wordnet import (
    find_wordnet,
    synset_entry_name,
    wordnet_entries,
    wordnet_synset_names,
)
from tests.metadata.helpers import ALL_NAMES, EXPECTED, make_wordnet

SYSTEM_WORDNET = Path("/usr/share/wordnet")


def require_system_wordnet() -> Path:
    """Skip without Debian's wordnet-base; fail instead under METACURATE_REQUIRE_SYSTEM_DEPS=1."""
    if (SYSTEM_WORDNET / "data.noun").is_file():
        return SYSTEM_WORDNET
    msg = (
        f"WordNet 3.0 not found at {SYSTEM_WORDNET} (install it with: apt-get install wordnet-base)"
    )
    if os.environ.get("METACURATE_REQUIRE_SYSTEM_DEPS") == "1":
        pytest.fail(f"{msg}; required because METACURATE_REQUIRE_SYSTEM_DEPS=1")
    pytest.skip(msg)


@pytest.mark.parametrize(
    ("lemma", "name"),
    [
        ("dog", "dog"),
        ("Dog", "dog"),
        ("hot_dog", "hot dog"),
        ("long(a)", "long"),
        ("galore(ip)", "galore"),
        ("elect(p)", "elect"),
        ("A.D.", "a"),
        ("St._Louis", "st"),
        (".22_caliber", ""),
        ("Hawai'i", "hawai'i"),
    ],
)
def test_synset_entry_name(lemma: str, name: str) -> None:
    assert synset_entry_name(lemma) == name


def test_fake_wordnet_names_and_order(tmp_path: Path) -> None:
    wn = find_wordnet(make_wordnet(tmp_path / "wn"))
    assert wordnet_synset_names(wn) == ALL_NAMES
    assert wordnet_entries(wn) == EXPECTED


def test_wordnet_from_nltk_zip(tmp_path: Path) -> None:
    src = make_wordnet(tmp_path / "wn")
    z = tmp_path / "wordnet.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(src.iterdir()):
            zf.write(f, f"wordnet/{f.name}")
    assert wordnet_entries(find_wordnet(z)) == EXPECTED


def test_wordnet_dir_errors(tmp_path: Path) -> None:
    with pytest.raises(MetacurateError, match=r"no WordNet database there.*--wordnet"):
        find_wordnet(tmp_path)
    wn = make_wordnet(tmp_path / "wn")
    (wn / "data.verb").write_text("00001000 00 v\n", encoding="utf-8")
    with pytest.raises(MetacurateError, match=r"data\.verb, line 1: not a WordNet data line"):
        wordnet_entries(find_wordnet(wn))


def test_system_wordnet_alone_gives_86554() -> None:
    d = require_system_wordnet()
    names = wordnet_synset_names(find_wordnet(d))
    assert len(names) == 117_659  # one per synset of WordNet 3.0
    entries = wordnet_entries(find_wordnet(d))
    assert len(entries) == 86_554
    assert len(set(entries)) == len(entries) and "" not in entries
    assert {"dog", "ice cream", "new york", "long", "st"} <= set(entries)
    result = build_metadata(BuildConfig(digits=False, wordnet_dir=str(d)))
    assert len(result.metadata) == 86_554


def test_system_wordnet_with_digits_gives_86654() -> None:
    d = require_system_wordnet()
    result = build_metadata(BuildConfig(wordnet_dir=str(d)))
    assert len(result.metadata) == 86_654
    assert result.metadata.entries[:100] == tuple(str(i) for i in range(100))
    assert result.union.added == {"digits": 100, "wordnet": 86_554}


def test_missing_system_wordnet_skips_or_fails(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(f"{__name__}.SYSTEM_WORDNET", tmp_path / "absent")
    monkeypatch.delenv("METACURATE_REQUIRE_SYSTEM_DEPS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install wordnet-base"):
        require_system_wordnet()
    monkeypatch.setenv("METACURATE_REQUIRE_SYSTEM_DEPS", "1")
    with pytest.raises(pytest.fail.Exception, match="METACURATE_REQUIRE_SYSTEM_DEPS=1"):
        require_system_wordnet()


def test_help_shows_examples(capsys) -> None:
    from metacurate.metadata.cli import main

    for sub in ("build", "info", "diff"):
        with pytest.raises(SystemExit):
            main(["metadata", sub, "--help"])
        assert "metacurate metadata " + sub in capsys.readouterr().out
