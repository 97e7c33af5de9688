"""Joining sources, building files through the CLI, byte-identical rebuilds, side files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from metacurate.errors import MetacurateError
from metacurate.metadata.build import (
    BuildConfig,
    build_metadata,
    is_droppable,
    read_sources,
    sources_path_for,
    union_sources,
)
from metacurate.metadata.cli import main
from metacurate.metadata.load import load_metadata
from tests.metadata.helpers import EXPECTED, make_wordnet, write


def test_union_first_appearance_dedup_and_drops() -> None:
    u = union_sources(
        [
            ("digits", ["0", "1"]),
            ("wordnet", ["dog", "cat", "dog", "", "..."]),
            ("wiki_unigram", ["cat", "Dog", "1", "  ", "—", "bird"]),
        ]
    )
    assert u.entries == ["0", "1", "dog", "cat", "Dog", "bird"]
    assert u.added == {"digits": 2, "wordnet": 2, "wiki_unigram": 2}
    assert u.offered == {"digits": 2, "wordnet": 5, "wiki_unigram": 6}
    assert u.dropped == 4  # "", "...", "  ", "—"
    # "1" and "cat" are also in a later source: its bit is set too
    assert u.masks == [0b001, 0b101, 0b010, 0b110, 0b100, 0b100]


@pytest.mark.parametrize(
    ("entry", "drop"),
    [("", True), ("!", True), ("?!", True), (" ", True), ("«»", True), ("a!", False), ("0", False)],
)
def test_is_droppable(entry: str, drop: bool) -> None:
    assert is_droppable(entry) is drop


def test_sources_path_for() -> None:
    assert sources_path_for("x/m.json") == Path("x/m.sources.json")
    assert sources_path_for("m.json.gz") == Path("m.sources.json.gz")
    assert sources_path_for("m.txt") == Path("m.sources.json")
    assert sources_path_for("m.txt.gz") == Path("m.sources.json.gz")


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    d = tmp_path / "in"
    d.mkdir()
    return {
        "wordnet": make_wordnet(d / "wn"),
        "unigrams": write(
            d / "u.txt", "the 5000\ndog 300\nnew 400\nyork 200\nrare 10\n!!! 500\nzorb 100\n"
        ),
        "bigrams": write(d / "b.txt", "new york 150\nthe dog 30\nzorb zorb 99\n"),
        "pv1": write(d / "pv1", "en New_York 900 0\nen Dog 40 0\nen Category:X 900 0\n"),
        "pv2": write(d / "pv2.gz", "en Zorb_ball 80 0\nen.m Cat 900 0\n", gz=True),
    }


def _build_args(inputs: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "metadata",
        "build",
        "--out",
        str(out),
        "--wordnet",
        str(inputs["wordnet"]),
        "--unigrams",
        str(inputs["unigrams"]),
        "--bigrams",
        str(inputs["bigrams"]),
        "--min-pmi",
        "4",
        "--pageviews",
        str(inputs["pv1"]),
        str(inputs["pv2"]),
        *extra,
    ]


def test_build_all_sources(inputs: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.json"
    assert main(_build_args(inputs, out)) == 0
    assert "wrote" in capsys.readouterr().out
    md = load_metadata(out)
    # N = 5000+300+400+200+10+500+100 = 6510
    # pmi(new york) = log2(150 * 6510 / (400 * 200)) = log2(12.2) = 3.6  -> below 4
    # pmi(zorb zorb) = log2(99 * 6510 / 10000) = log2(64.4) = 6.0        -> kept
    # pmi(the dog) = log2(30 * 6510 / 1500000) < 0                       -> dropped
    assert md.entries == (
        *(str(i) for i in range(100)),
        *EXPECTED,
        "the",
        "new",
        "york",
        "zorb",  # "dog" is already there (WordNet), "!!!" is dropped
        "zorb zorb",
        "New York",  # "Dog": 40 views < 50 on its line; "Category:X" has ":"; en.m is mobile
        "Zorb ball",
    )
    side = read_sources(sources_path_for(out))
    assert side.metadata_hash == md.hash
    assert side.first_source_counts() == {
        "digits": 100,
        "wordnet": len(EXPECTED),
        "wiki_unigram": 4,
        "wiki_bigram": 1,
        "wiki_title": 2,
    }
    assert side.sources_of(md.entries.index("dog")) == ["wordnet", "wiki_unigram"]
    assert side.params["min_pmi"] == 4.0


def test_build_twice_is_byte_identical(inputs: dict[str, Path], tmp_path: Path) -> None:
    for name in ("m.json", "m.json.gz", "m.txt"):
        outs = []
        for run in ("a", "b"):
            d = tmp_path / run
            d.mkdir(exist_ok=True)
            assert main(_build_args(inputs, d / name)) == 0
            outs.append(((d / name).read_bytes(), sources_path_for(d / name).read_bytes()))
        assert outs[0] == outs[1], name
    a = load_metadata(tmp_path / "a" / "m.json")
    assert load_metadata(tmp_path / "a" / "m.json.gz").hash == a.hash
    assert load_metadata(tmp_path / "a" / "m.txt").hash == a.hash
    raw = gzip.decompress((tmp_path / "a" / "m.json.gz").read_bytes())
    assert json.loads(raw) == list(a.entries)


def test_max_bigrams_and_unigram_threshold(inputs: dict[str, Path], tmp_path: Path) -> None:
    cfg = BuildConfig(
        digits=False,
        wordnet=False,
        unigram_counts=str(inputs["unigrams"]),
        min_unigram_count=300,
        bigram_counts=str(inputs["bigrams"]),
        min_pmi=-100,
        max_bigrams=2,
    )
    r = build_metadata(cfg)
    # unigrams >= 300 in file order, then the 2 best bigrams (zorb zorb, new york)
    assert r.metadata.entries == ("the", "dog", "new", "zorb zorb", "new york")
    assert r.union.dropped == 1  # "!!!"


def test_build_errors(inputs: dict[str, Path], tmp_path: Path, capsys) -> None:
    with pytest.raises(MetacurateError, match="no WordNet database there"):
        build_metadata(BuildConfig(wordnet_dir=str(tmp_path)))
    with pytest.raises(MetacurateError, match="bigram PMI needs unigram counts"):
        build_metadata(BuildConfig(bigram_counts=str(inputs["bigrams"]), wordnet=False))
    with pytest.raises(MetacurateError, match="input file not found: .*nope"):
        build_metadata(BuildConfig(wordnet=False, unigram_counts=str(tmp_path / "nope")))
    with pytest.raises(MetacurateError, match="no metadata sources"):
        build_metadata(BuildConfig(digits=False, wordnet=False))
    # through the CLI: one line on stderr, exit 2
    rc = main(["metadata", "build", "--out", str(tmp_path / "m.csv"), "--no-wordnet"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "m.csv: unknown metadata format" in err


def test_dry_run_prints_config(tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.json"
    assert main(["metadata", "build", "--out", str(out), "--no-wordnet", "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["wordnet"] is False and cfg["min_pmi"] == 30.0 and cfg["min_title_views"] == 70
    assert not out.exists()


def test_build_out_creates_its_folder(tmp_path: Path, capsys) -> None:
    out = tmp_path / "new" / "dir" / "m.json"
    assert main(["metadata", "build", "--out", str(out), "--no-wordnet"]) == 0
    assert json.loads(out.read_text()) == [str(i) for i in range(100)]
    assert (out.parent / "m.sources.json").exists()
    (tmp_path / "file").write_text("x")
    capsys.readouterr()
    rc = main(["metadata", "build", "--out", str(tmp_path / "file" / "m.json"), "--no-wordnet"])
    err = capsys.readouterr().err
    assert rc == 2 and "cannot create its folder" in err and "--out" in err


def test_metadata_help_texts(capsys) -> None:
    for sub in ("build", "info", "diff"):
        with pytest.raises(SystemExit):
            main(["metadata", sub, "--help"])
        text = capsys.readouterr().out
        assert "examples:" in text
    with pytest.raises(SystemExit):
        main(["metadata", "diff", "--help"])
    text = capsys.readouterr().out
    assert "the old list" in text and "the new list" in text and "in B only" in text
