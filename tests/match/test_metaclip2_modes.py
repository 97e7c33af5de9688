"""Exactness of the metaclip2 modes against the naive loop of semantics.md section 4."""

from __future__ import annotations

import string

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metacurate import Matcher, MetacurateError
from metacurate.match import MODES
from metacurate.match.metaclip2 import Metaclip2Matcher, worldwide_kernel_available
from metacurate.scripts import is_no_space, pad, separator_tables, unit_regex
from tests.multilingual.reference import is_cjk_or_similar, reference_match2, spaced_entry

WW_MODES = ["metaclip2", "metaclip2-kana"]
IMPLS = [pytest.param(True, id="native"), pytest.param(False, id="python")]


@pytest.fixture(params=IMPLS)
def native(request):
    if request.param and not worldwide_kernel_available():
        pytest.skip("native kernels not built")
    return request.param


def both_impls() -> list[bool]:
    return [False, True] if worldwide_kernel_available() else [False]


# (a) the examples of the issue and semantics.md -------------------------------------------


@pytest.mark.parametrize("mode", WW_MODES)
def test_documented_examples(native, mode):
    md = ["猫", "ข้าว", "C++", "タワー", "東京タワー", "dog"]
    m = Matcher(md, mode=mode, native=native)
    assert isinstance(m, Metaclip2Matcher) and m.mode == mode
    assert m.match("熊猫") == [0]
    assert m.match("กินข้าว") == [1]
    assert m.match("C+++x") == [2]
    assert m.match("a dog") == [5] and m.match("dogs") == []
    kana_hits = m.match("東京タワーに行った")
    assert kana_hits == ([] if mode == "metaclip2" else [3, 4])
    for text in ["熊猫", "กินข้าว", "C+++x", "東京タワーに行った", "a dog", "dogs"]:
        assert m.match(text) == reference_match2(md, text, mode)


def test_invalid_unicode_entry_is_a_user_error(native):
    from metacurate.metadata import Metadata

    md = Metadata(("猫", "\ud800猫", "\ud800"), hash="given")  # hashing it would fail first
    with pytest.raises(MetacurateError, match="not valid Unicode"):
        Matcher(md, mode="metaclip2", native=native)


def test_modes_listed_and_reexported():
    import metacurate.match as mm
    from metacurate.match.matcher import MODES as matcher_modes

    assert MODES == matcher_modes == ("metaclip1", "metaclip2", "metaclip2-kana")
    assert mm.MODES is matcher_modes
    with pytest.raises(MetacurateError, match="unknown matching mode"):
        Matcher(["x"], mode="metaclip3")


def test_pad_rule_examples():
    assert pad("猫") == "猫" and pad("dog") == " dog " and pad("C++") == " C++"
    assert pad("タワー") == " タワー " and pad("タワー", "metaclip2-kana") == "タワー"
    assert pad("東京タワー") == "東京タワー "
    assert pad("東京タワー", "metaclip2-kana") == "東京タワー"
    assert pad("한국") == " 한국 " == pad("한국", "metaclip2-kana")  # Hangul: never no-space
    assert pad("") == "  " and pad(" 猫") == "  猫" and pad("dog", "metaclip1") == " dog "


def test_no_space_set_equals_official_code_everywhere():
    """Every code point: scripts.is_no_space == the official is_cjk_or_similar (+ kana)."""
    for kana, mode in ((False, "metaclip2"), (True, "metaclip2-kana")):
        bmp, astral = separator_tables(mode)
        bits = np.unpackbits(bmp, bitorder="little").astype(bool)
        for cp in range(0x110000):
            if 0xD800 <= cp <= 0xDFFF:
                continue
            c = chr(cp)
            want = is_cjk_or_similar(c, kana)
            assert is_no_space(c, mode) is want, hex(cp)
            if cp < 0x10000:
                assert bits[cp] == (want or cp == 0x20), hex(cp)
        ranges = astral.reshape(-1, 2)
        for cp in (0x20000, 0x2A6DF, 0x2A6E0, 0x2A6FF, 0x2A700, 0x2EBEF, 0x2EBF0, 0x10000):
            inside = bool(((ranges[:, 0] <= cp) & (cp <= ranges[:, 1])).any())
            assert inside == is_cjk_or_similar(chr(cp)), hex(cp)


@pytest.mark.parametrize("mode", WW_MODES)
def test_unit_regex_splits_on_separators(mode):
    rx = unit_regex(mode)
    text = " 東京タワー C+++x กินข้าว 한국어 dog,  ａｂ「猫」"
    units = [m.group() for m in rx.finditer(text)]
    assert "".join(units) == text
    for m in rx.finditer(text):
        sep = m.group(1) is not None
        assert sep == (len(m.group()) == 1 and (m.group() == " " or is_no_space(m.group(), mode)))
        if not sep:
            assert not any(c == " " or is_no_space(c, mode) for c in m.group())


# (b) rows, statuses, edge cases ----------------------------------------------------------


@pytest.mark.parametrize("mode", WW_MODES)
def test_rows_statuses_and_edges(native, mode):
    md = ["猫", "", " ", "猫 ", " 猫", "dog", "猫", "。", "dog.", "C++", "+", "x  y"]
    m = Matcher(md, mode=mode, native=native)
    arr = pa.array(["熊猫", None, "", "dog 猫", "猫。", "x  y"])
    got = m.match_arrow(arr)
    assert got.status.tolist() == [0, 1, 2, 0, 0, 0]
    assert got.entry_ids.type == pa.list_(pa.int32())
    expected = [reference_match2(md, t, mode) for t in arr.to_pylist()]
    assert got.entry_ids.to_pylist() == expected
    assert {0, 6} <= set(expected[0])  # duplicates both match
    bad = pa.array([b"\xff\xfe \xe7\x8c\xab", "猫".encode()], type=pa.binary())
    got = m.match_arrow(bad)
    assert got.status.tolist() == [3, 0] and got.entry_ids.to_pylist() == [[], [0, 6]]
    sliced = arr.slice(3, 2)
    assert m.match_batch(sliced).to_pylist() == expected[3:5]
    chunked = pa.chunked_array([arr.slice(0, 2), arr.slice(2)])
    assert m.match_batch(chunked).to_pylist() == expected
    assert m.match_batch(pa.array(["熊猫"], pa.large_string())).to_pylist() == [expected[0]]
    assert m.match_batch([]).to_pylist() == []
    assert m.match(None) == []


@pytest.mark.parametrize(
    "md",
    [[], ["猫"], ["dog"], ["猫", "猫"], ["dog", "dog"], ["。", "「", "」"]],
    ids=["empty", "only-unpadded", "only-padded", "dup-unpadded", "dup-padded", "punct"],
)
def test_one_sided_metadata(native, md):
    texts = ["猫 dog 「猫」。", "", "dog", "猫猫"]
    for mode in WW_MODES:
        got = Matcher(md, mode=mode, native=native).match_batch(texts).to_pylist()
        assert got == [reference_match2(md, t, mode) for t in texts]


# (c) property-based: mixed scripts -------------------------------------------------------

PIECES = {
    "cjk": ["猫", "熊猫", "東京", "大学", "中国人", "\U00020000", "\U0002a700", "\uf900", "\u2e80"],
    "gaps": ["\U0002a6df", "\U0002a6e0", "\u2fdf", "\u2fe0", "\u2ff0"],
    "kana": ["タワー", "に", "の", "カナ", "ｱｶﾞ", "\u31f0", "ー", "･"],
    "hangul": ["한국어", "서울", "가"],
    "thai": ["กิน", "ข้าว", "ລາວ", "မြန်မာ", "ខ្មែរ", "བོད"],
    "latin": ["dog", "C", "x", "é", "New", "York", "ab"],
    "ascii_punct": list(string.punctuation),
    "cjk_punct": list("，。、；：？！“”‘’（）【】《》〈〉「」『』～—"),
    "digits": ["0", "12", "２", "٣"],
    "spaces": [" ", "  ", "\t", "\n", "\r", "\u3000", "\xa0"],
}
ALL_PIECES = [p for group in PIECES.values() for p in group]
piece = st.sampled_from(ALL_PIECES)
texts = st.lists(piece, max_size=16).map("".join)


@st.composite
def metadata_and_texts(draw):
    batch = draw(st.lists(st.none() | texts, min_size=1, max_size=6))
    entries: list[str] = []
    for t in batch:  # substrings of the texts, so that matches are frequent
        if t:
            for _ in range(draw(st.integers(0, 4))):
                i = draw(st.integers(0, len(t) - 1))
                j = draw(st.integers(i + 1, min(len(t), i + 8)))
                entries.append(t[i:j])
    entries += draw(
        st.lists(
            st.one_of(
                piece,
                st.lists(piece, min_size=1, max_size=3).map("".join),
                st.lists(piece, min_size=1, max_size=3).map(" ".join),
                st.sampled_from(["", " ", "  ", " 猫", "猫 ", "C++", "U.S.", "猫,狗"]),
                st.text(max_size=3),
            ),
            max_size=15,
        )
    )
    order = draw(st.permutations(range(len(entries))))
    return [entries[i] for i in order], batch


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=metadata_and_texts(), mode=st.sampled_from(WW_MODES))
def test_property_equals_naive_loop(data, mode):
    md, batch = data
    md = [e for e in md if not any(0xD800 <= ord(c) <= 0xDFFF for c in e)]
    expected = [reference_match2(md, t, mode) for t in batch]
    for native in both_impls():
        m = Matcher(md, mode=mode, native=native)
        assert m.match_batch(batch).to_pylist() == expected, f"native={native}"
        assert [m.match(t) for t in batch] == expected


@settings(max_examples=300, deadline=None)
@given(entry=st.one_of(piece, st.lists(piece, min_size=1, max_size=4).map("".join), st.text()))
def test_pad_equals_official_spaced_entry(entry):
    assert pad(entry, "metaclip2") == spaced_entry(entry, kana=False)
    assert pad(entry, "metaclip2-kana") == spaced_entry(entry, kana=True)


# (d) saved, memory-mapped indexes --------------------------------------------------------


@pytest.mark.parametrize("mode", WW_MODES)
def test_saved_index_is_mapped_and_stale_ones_rebuilt(tmp_path, mode):
    import json

    from metacurate.match.index_cache import index_dir, load_or_build
    from metacurate.metadata import Metadata

    if not worldwide_kernel_available():
        pytest.skip("native kernels not built")
    md = Metadata.from_list(["猫", "熊猫", "dog", "C++", "タワー", "猫"])
    m = load_or_build(md, tmp_path, mode=mode)
    d = index_dir(tmp_path, md.hash, mode)
    assert isinstance(m, Metaclip2Matcher) and isinstance(m._tables["slots"], np.memmap)
    text = "我的熊猫 and dog, C+++ タワー"
    want = reference_match2(list(md.entries), text, mode)
    assert m.match(text) == want and m.nbytes > 0
    only_hash = Matcher.load(d, md.hash, mode=mode)  # workers map it without the entry list
    assert isinstance(only_hash, Metaclip2Matcher) and only_hash.metadata is None
    assert only_hash.match(text) == want and only_hash.n_entries == 6
    with pytest.raises(MetacurateError, match="mode"):
        Matcher.load(d, md.hash, mode="metaclip2-kana" if mode == "metaclip2" else "metaclip2")
    info = json.loads((d / "index.json").read_text())
    info["kernel_version"] = -1
    (d / "index.json").write_text(json.dumps(info))
    with pytest.raises(MetacurateError, match="kernel_version"):
        Matcher.load(d, md, mode=mode)
    assert load_or_build(md, tmp_path, mode=mode).match(text) == want  # rebuilt, not an error
    assert sorted(p.name for p in d.iterdir()) == sorted(
        ["index.json", "padded", "slots.npy", "blob.npy", "multi.npy", "mask.npy"]
        + ["remap.npy", "bmp.npy", "astral.npy"]
    )
    assert not any(p.suffix in (".pkl", ".pickle") for p in d.rglob("*"))
