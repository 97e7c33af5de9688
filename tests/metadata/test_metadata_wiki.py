"""Wikipedia sources on hand-made files: thresholds, PMI, pageview filters, order."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from metacurate.errors import MetacurateError
from metacurate.metadata import wiki
from tests.metadata.helpers import write


def test_unigram_threshold_and_order(tmp_path: Path) -> None:
    f = write(tmp_path / "u.txt", "zebra\t150\napple 100\nrare\t99\n\nDog 1000\nzebra 5\n")
    counts = wiki.read_counts(f)
    assert counts == {"zebra": 155, "apple": 100, "rare": 99, "Dog": 1000}
    assert wiki.unigram_entries(counts) == ["zebra", "apple", "Dog"]  # >= 100, file order
    assert wiki.unigram_entries(counts, min_count=101) == ["zebra", "Dog"]


def test_counts_first_and_gzip(tmp_path: Path) -> None:
    f = write(tmp_path / "1gram.txt.gz", "150\tzebra\n3\tapple\n", gz=True)
    assert wiki.read_counts(f, counts_first=True) == {"zebra": 150, "apple": 3}
    b = write(tmp_path / "2gram.txt", "7\tnew\tyork\n")
    assert wiki.read_counts(b, n_words=2, counts_first=True) == {"new york": 7}


def test_count_file_errors_name_file_line_and_fix(tmp_path: Path) -> None:
    f = write(tmp_path / "u.txt", "dog 5\n150\tzebra\n")
    with pytest.raises(MetacurateError, match=r"u\.txt, line 2: count 'zebra'.*--counts-first"):
        wiki.read_counts(f)
    g = write(tmp_path / "b.txt", "new york 3\nlos angeles\n")
    with pytest.raises(MetacurateError, match=r"b\.txt, line 2: expected 3 fields"):
        wiki.read_counts(g, n_words=2)
    h = tmp_path / "bad.txt"
    h.write_bytes(b"caf\xe9 3\n")
    with pytest.raises(MetacurateError, match=r"bad\.txt, line 1: not UTF-8"):
        wiki.read_counts(h)


def test_corpus_unigram_counts(tmp_path: Path) -> None:
    f = write(tmp_path / "c.txt", "the dog  the\tcat\nThe dog.\n")
    assert wiki.count_corpus_unigrams([f]) == {"the": 2, "dog": 1, "cat": 1, "The": 1, "dog.": 1}


def test_pmi_against_hand_computation() -> None:
    # N = 10 + 20 + 5 + 1000 = 1035; pmi(a b) = log2(4 * 1035 / (10 * 20)) = log2(20.7)
    unigrams = {"a": 10, "b": 20, "c": 5, "d": 1000, "zero": 0}
    pmi = wiki.bigram_pmi(4, 10, 20, 1035)
    assert pmi == pytest.approx(4.3715588626, abs=1e-9)
    assert pmi == pytest.approx(math.log2(20.7), rel=1e-15)
    # NLTK: _log2(n_ii * N) - _log2(n_ix * n_xi), n_ii a float -> the same float, bit for bit
    assert pmi == math.log2(4.0 * 1035) - math.log2(10 * 20)

    bigrams = [("a b", 4), ("c d", 5), ("a x", 9), ("c a", 1), ("b a", 0)]
    scores = wiki.score_bigrams(unigrams, bigrams, min_pmi=0.0)
    # c d: log2(5 * 1035 / 5000) = log2(1.035); c a: log2(1035 / 50) = log2(20.7)
    assert [(w1, w2) for w1, w2, _ in scores.scored] == [("a", "b"), ("c", "a"), ("c", "d")]
    assert scores.scored[2][2] == pytest.approx(math.log2(1.035))
    assert scores.missing_unigram == 1 and scores.zero_count == 1
    # threshold: only bigrams with pmi >= min_pmi
    assert wiki.bigram_entries(wiki.score_bigrams(unigrams, bigrams, min_pmi=4.3)) == [
        "a b",
        "c a",
    ]
    assert wiki.bigram_entries(wiki.score_bigrams(unigrams, bigrams, min_pmi=4.4)) == []


def test_bigram_ties_are_broken_by_words_and_max_bigrams() -> None:
    unigrams = {"x": 1, "y": 1, "p": 1, "q": 1, "big": 100}
    # four bigrams with the same PMI, listed out of order
    bigrams = [("y x", 1), ("p q", 1), ("x y", 1), ("p big", 1)]
    scores = wiki.score_bigrams(unigrams, bigrams, min_pmi=0.0)
    assert wiki.bigram_entries(scores) == ["p q", "x y", "y x", "p big"]
    assert wiki.bigram_entries(scores, max_bigrams=2) == ["p q", "x y"]
    assert wiki.bigram_entries(scores, max_bigrams=0) == []


PAGEVIEWS_1 = """\
en Dog_house 60 0
en Dog_house 49 0
en.m Dog_house 500 0
de Hund 500 0
en File:Dog.jpg 500 0
en Cat 80 0
en Bird 50 0
en bad line
enx Cat 900 0
"""
PAGEVIEWS_2 = """\
en Bird 10 0
en Dog_house 50 0
en Zebra 69 0
en Talk:Cat 900 0
"""


def test_pageview_titles(tmp_path: Path) -> None:
    f1 = write(tmp_path / "pageviews-1", PAGEVIEWS_1)
    f2 = write(tmp_path / "pageviews-2.gz", PAGEVIEWS_2, gz=True)
    views = wiki.count_title_views([f1, f2])
    # per line >= 50 (MetaCLIP's int(count / 50) > 0), project exactly "en", no ":"
    assert views.views == {"Dog house": 110, "Cat": 80, "Bird": 50, "Zebra": 69}
    assert views.with_colon == 2 and views.malformed == 1 and views.below_line_views == 2
    assert wiki.title_entries(views) == ["Dog house", "Cat"]  # summed views >= 70
    assert wiki.title_entries(views, min_views=50) == ["Dog house", "Cat", "Bird", "Zebra"]
    every_line = wiki.count_title_views([f1, f2], min_line_views=1)
    assert every_line.views == {"Dog house": 159, "Cat": 80, "Bird": 60, "Zebra": 69}
    assert wiki.title_entries(every_line) == ["Dog house", "Cat"]
