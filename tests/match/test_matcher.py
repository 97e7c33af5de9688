"""Exactness of the matcher against the naive loop of semantics.md section 1."""

from __future__ import annotations

import csv
import json
import random

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metacurate import Matcher, MetacurateError, spacing
from metacurate.match.matcher import native_available
from tests.conftest import oracle_size, shared_dir
from tests.reference import reference_match, reference_spacing

IMPLS = [pytest.param(True, id="native"), pytest.param(False, id="python")]


@pytest.fixture(params=IMPLS)
def native(request):
    if request.param and not native_available():
        pytest.skip("native kernel not built")
    return request.param


# (a) every example of semantics.md --------------------------------------------------------

SEMANTICS_METADATA = [
    "dog",
    "dog house",
    "a b",
    "b c",
    "St. Louis",
    "U.S.",
    "Dog",
    "",
    " dog",
    "dog ",
    "house",
    "photo",
    "dog",
    "a , b",
    "x",
]
SEMANTICS_CASES = {
    "a dog house": {"dog", "dog house", "house"},
    "x a b c y": {"x", "a b", "b c"},
    "Dog": {"Dog"},
    "(dog)": set(),
    "dog's": set(),
    "dog-house": set(),
    "dog!": {"dog", ""},
    "photo:dog": {"photo", "dog"},
    "dog,house": {"dog", "house"},
    "a,b": {"a , b"},
    "St. Louis": {""},  # " St .  Louis ": the double space matches the empty entry
    "the U.S. army": {""},
    "": {""},
    "dog dog": {"dog"},
}


def test_spacing_matches_definition():
    assert spacing("a,b") == " a , b "
    for text in ["a,b", "x\ty\nz\r", "", "`q`", "a  b", "Dog!?"]:
        assert spacing(text) == reference_spacing(text)


@pytest.mark.parametrize("text", sorted(SEMANTICS_CASES))
def test_semantics_examples(native, text):
    m = Matcher(SEMANTICS_METADATA, native=native)
    got = m.match(text)
    assert got == reference_match(SEMANTICS_METADATA, text)
    assert {SEMANTICS_METADATA[i] for i in got} == SEMANTICS_CASES[text]


def test_semantics_specific_claims(native):
    m = Matcher(SEMANTICS_METADATA, native=native)
    md = SEMANTICS_METADATA
    assert [md[i] for i in m.match("a dog house")] == ["dog", "dog house", "house", "dog"]
    assert m.match("Dog") == [6]  # case-sensitive: only "Dog"
    assert 0 not in m.match("(dog)") and 0 not in m.match("dog-house")
    assert 4 not in m.match("St. Louis") and 5 not in m.match("U.S.")
    assert m.match(None) == []
    # two equal entries at different ids both match
    assert {0, 12} <= set(m.match("my dog"))


def test_null_and_empty_rows(native):
    m = Matcher(["dog", "cat"], native=native)
    got = m.match_arrow(pa.array(["dog", None, "", "cat dog"]))
    assert got.entry_ids.to_pylist() == [[0], [], [], [0, 1]]
    assert got.entry_ids.type == pa.list_(pa.int32())
    assert got.status.tolist() == [0, 1, 2, 0]


def test_invalid_utf8_is_flagged_not_matched(native):
    m = Matcher(["dog"], native=native)
    arr = pa.array([b"dog", b"dog \xff", b"\xc0\xaf dog", b"\xed\xa0\x80 dog"], type=pa.binary())
    got = m.match_arrow(arr)
    assert got.entry_ids.to_pylist() == [[0], [], [], []]
    assert got.status.tolist() == [0, 3, 3, 3]


def test_sliced_and_chunked_inputs(native):
    m = Matcher(["a", "b c"], native=native)
    arr = pa.array(["a", "b c", None, "x a", "b c a"])
    assert m.match_batch(arr.slice(1, 3)).to_pylist() == [[1], [], [0]]
    chunked = pa.chunked_array([arr.slice(0, 2), arr.slice(2)])
    assert m.match_batch(chunked).to_pylist() == [[0], [1], [], [0], [0, 1]]
    assert m.match_batch(pa.array(["a"], type=pa.large_string())).to_pylist() == [[0]]
    assert m.match_batch([]).to_pylist() == []
    assert m.match_batch(pa.array([], pa.string())).to_pylist() == []


def test_bad_metadata_refused():
    with pytest.raises(MetacurateError, match="entry 1"):
        Matcher(["dog", 3])
    with pytest.raises(MetacurateError, match="unknown matching mode"):
        Matcher(["dog"], mode="nope")


# (b) property-based ----------------------------------------------------------------------

FRAGMENTS = ["dog", "cat", "hot", "dog", "a", "b", "big dog", "New York", "é", "猫", "Ünï", "x1"]
MARKS = [",", ".", ";", ":", "?", "!", "`"]
SEPARATORS = [" ", "  ", "\t", "\n", "\r", " \t "]
OTHER = ["(", ")", "'", "-", "/", "\u00a0", "\u3000"]

piece = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.sampled_from(MARKS),
    st.sampled_from(SEPARATORS),
    st.sampled_from(OTHER),
    st.text(max_size=3),
)
texts = st.lists(piece, max_size=14).map("".join)
entry = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.lists(st.sampled_from(FRAGMENTS + MARKS + ["", " "]), min_size=1, max_size=4).map(" ".join),
    st.sampled_from(["", " ", "  ", " dog", "dog ", "a , b", "dog\tcat", "St. Louis"]),
    st.text(max_size=4),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(metadata=st.lists(entry, max_size=25), batch=st.lists(st.none() | texts, max_size=8))
def test_property_equals_naive_loop(metadata, batch):
    expected = [reference_match(metadata, t) for t in batch]
    assert Matcher(metadata, native=False).match_batch(batch).to_pylist() == expected
    if native_available():
        assert Matcher(metadata, native=True).match_batch(batch).to_pylist() == expected


# (c) real captions -------------------------------------------------------------------------


def _real_captions() -> dict[str, list[str | None]]:
    d = shared_dir()
    out: dict[str, list[str | None]] = {}
    if d is not None:
        laion = d / "data" / "captions" / "laion_sample_10k.parquet"
        if laion.exists():
            out["laion"] = pq.read_table(laion, columns=["TEXT"]).column(0).to_pylist()
        cc3m = d / "data" / "captions" / "cc3m_validation.tsv"
        if cc3m.exists():
            with open(cc3m, encoding="utf-8", newline="") as f:
                rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                out["cc3m"] = [row[0] for row in rows]
    if not out:  # fallback fixture: web-like captions generated here
        rng = random.Random(7)
        words = [
            "dog",
            "cat",
            "red",
            "car",
            "New",
            "York",
            "photo",
            "of",
            "the",
            "a",
            "on",
            "beach",
            "sunset",
            "2019",
            "Hotel",
            "café",
            "kitchen",
            "with",
            "and",
        ]
        out["generated"] = [
            " ".join(rng.choice(words) for _ in range(rng.randint(1, 14)))
            + rng.choice(["", ".", "!", " , x", ": y"])
            for _ in range(4000)
        ]
    return out


def _metadata_hitting(captions: list[str], size: int, seed: int = 0) -> list[str]:
    """Every word and adjacent word pair of the captions, case and punctuation variants,
    plus generated noise, until ``size`` entries; shuffled, with a few duplicates."""
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    for c in captions:
        if not c:
            continue
        words = c.split()
        for w in words:
            seen[w] = None
            seen[w.lower()] = None
            seen[w.strip(",.;:?!`()'\"")] = None
        for a, b in zip(words, words[1:], strict=False):
            seen[f"{a} {b}"] = None
    entries = list(seen)
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    while len(entries) < size:
        entries.append("".join(rng.choice(alphabet) for _ in range(rng.randint(2, 9))))
    rng.shuffle(entries)
    entries += entries[:50] + ["", "  "]
    return entries


@pytest.mark.slow
@pytest.mark.parametrize("source", sorted(_real_captions()))
def test_real_captions_equal_naive_loop(source):
    captions = _real_captions()[source]
    metadata = _metadata_hitting(captions, 60_000)
    assert len(metadata) >= 50_000
    sample = random.Random(1).sample(captions, oracle_size(300, 2000))
    expected = [reference_match(metadata, t) for t in sample]
    assert sum(len(e) for e in expected) > 5 * len(sample)  # the metadata really hits them
    impls = [False] + ([True] if native_available() else [])
    for native in impls:
        got = Matcher(metadata, native=native).match_batch(sample).to_pylist()
        diffs = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
        assert diffs == [], f"native={native}: {len(diffs)} differences, first {sample[diffs[0]]!r}"


def test_saved_index_is_mapped_and_stale_ones_rebuilt(tmp_path):
    from metacurate.match.index_cache import index_dir, load_or_build
    from metacurate.metadata import Metadata

    if not native_available():
        pytest.skip("native kernel not built")
    md = Metadata.from_list(["dog", "red car", "dog"])
    m = load_or_build(md, tmp_path)
    d = index_dir(tmp_path, md.hash)
    assert isinstance(m._tables["slots"], np.memmap)
    assert m.match_batch(["a red car and a dog"]).to_pylist() == [[0, 1, 2]]
    info = json.loads((d / "index.json").read_text())
    info["kernel_version"] = -1
    (d / "index.json").write_text(json.dumps(info))
    with pytest.raises(MetacurateError, match="kernel_version"):
        Matcher.load(d, md)
    again = load_or_build(md, tmp_path)  # a stale cache is rebuilt, not an error
    assert again.match("dog") == [0, 2]
    only_hash = Matcher.load(d, md.hash)  # workers map it without the entry list
    assert only_hash.n_entries == 3 and only_hash.match("red car") == [1]
