"""The built-in default metadata: its size and composition, its side files (load speed:
benchmarks/bench_metadata_load.py)."""

from __future__ import annotations

import json
from importlib import resources

from metacurate.metadata.build import read_sources
from metacurate.metadata.cli import main
from metacurate.metadata.default import (
    BUILTIN_HASHES,
    BUILTIN_NOTE,
    DEFAULT_METADATA_NAME,
    is_builtin,
    load_default_metadata,
    load_default_sources,
    resolve_metadata,
)
from metacurate.metadata.info import unmatchable_reason
from metacurate.metadata.wordnet import find_wordnet_or_none, wordnet_entries

DATA = resources.files("metacurate.metadata").joinpath("data")

EXPECTED_ENTRIES = 405_817
EXPECTED_COMPOSITION = {
    "digits": 100,
    "wordnet": 86_554,
    "wordfreq_unigram": 251_465,
    "wordnet_title": 67_698,
}


def test_default_loads_with_expected_size_and_composition() -> None:
    md = load_default_metadata()
    assert md.name == DEFAULT_METADATA_NAME == "metacurate-default-v2"
    assert len(md) == EXPECTED_ENTRIES
    assert md.entries[:100] == tuple(str(i) for i in range(100))
    assert len(set(md.entries)) == len(md)
    assert not any(unmatchable_reason(e) for e in md.entries)
    src = load_default_sources()
    assert src.metadata_hash == md.hash
    assert src.first_source_counts() == EXPECTED_COMPOSITION
    assert src.source_names == ("digits", "wordnet", "wordfreq_unigram", "wordnet_title")
    assert resolve_metadata(None).hash == md.hash
    assert resolve_metadata("default").hash == md.hash


def test_default_files_are_small_and_licensed() -> None:
    size = DATA.joinpath("default_metadata.json.gz").read_bytes()
    assert len(size) < 5_000_000
    notice = DATA.joinpath("NOTICE.txt").read_text(encoding="utf-8")
    assert "WordNet 3.0 Copyright 2006 by Princeton University" in notice
    assert "CC BY-SA 4.0" in notice and "APPROXIMATES MetaCLIP" in notice


def test_default_wordnet_part_matches_system_wordnet() -> None:
    wn = find_wordnet_or_none()
    if wn is None:
        import pytest

        pytest.skip("no WordNet installed to compare with (apt-get install wordnet-base)")
    md = load_default_metadata()
    assert list(md.entries[100 : 100 + 86_554]) == wordnet_entries(wn)


def test_info_on_default(capsys) -> None:
    assert main(["metadata", "info"]) == 0
    text = capsys.readouterr().out
    assert "metacurate-default-v2" in text and "405,817" in text
    assert BUILTIN_NOTE in text
    assert main(["metadata", "info", "default", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["sources"]["first_source"] == EXPECTED_COMPOSITION
    with resources.as_file(DATA.joinpath("default_metadata.sources.json.gz")) as p:
        assert read_sources(p).params["name"] == DEFAULT_METADATA_NAME


def test_builtin_hash_and_note() -> None:
    md = load_default_metadata()
    assert next(iter(BUILTIN_HASHES.items())) == (md.name, md.hash)  # current one first
    assert is_builtin(md.hash)
    assert is_builtin(BUILTIN_HASHES["metacurate-default-v1"])  # runs made with the old list
    assert not is_builtin("0" * 64) and not is_builtin(md.hash[:12])
    assert "\n" not in BUILTIN_NOTE
    for part in ("approximation", "metaclip1/metadata.json", "facebookresearch/MetaCLIP"):
        assert part in BUILTIN_NOTE
    assert "--metadata metadata.json" in BUILTIN_NOTE and "position" in BUILTIN_NOTE


def test_default_has_cased_forms_of_its_words() -> None:
    """Every wordfreq word comes with its first-capital form, and title-like WordNet forms
    are there, so title-cased alt-text matches (``Stir Fry Mango Chicken``)."""
    md = load_default_metadata()
    src = load_default_sources()
    entries = set(md.entries)
    first = src.first_source_counts()
    assert first["wordnet_title"] > 60_000
    for e in ("Chicken", "chicken", "T-shirt", "Paris", "NATO", "TV", "The", "Mango", "Stir"):
        assert e in entries, e
    words = [e for e, m in zip(md.entries, src.masks, strict=True) if m & 4]  # wordfreq
    lower = [w for w in words if w == w.lower() and w[:1].isalpha()]
    missing = [w for w in lower[:-1] if (w[:1].upper() + w[1:]) not in entries]
    assert not missing[:10]
