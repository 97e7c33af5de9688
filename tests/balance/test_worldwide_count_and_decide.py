"""Per-language counts (files that add up) and per-language keep decisions."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metacurate.balance import decide
from metacurate.balance.worldwide import decide_languages, language_probs
from metacurate.count_lang import (
    add_counts,
    add_sparse_lang,
    count_by_language,
    read_language_counts,
    sparse_lang_counts_table,
    write_language_counts,
)
from metacurate.metadata.worldwide import WorldwideMetadata

SIZES = {"zh": 4, "en": 3, "de": 2}

rows = st.lists(
    st.tuples(
        st.sampled_from(["zh", "en", "de", "other"]),
        st.integers(0, 3),  # how many ids (deduplicated below)
        st.integers(0, 2**64 - 1),
    ),
    max_size=40,
)


def _batch(draw_rows, rng):
    langs, lists, uids = [], [], []
    for lang, k, uid in draw_rows:
        n = SIZES.get(lang, 0)
        ids = sorted(set(rng.integers(0, n, size=k).tolist())) if n else []
        langs.append(lang)
        lists.append(ids)
        uids.append(uid)
    return pa.array(langs), pa.array(lists, pa.list_(pa.int32())), np.array(uids, np.uint64)


@settings(max_examples=200, deadline=None)
@given(rows=rows, split=st.integers(0, 40), seed=st.integers(0, 2**32))
def test_counts_per_language_add_up(rows, split, seed):
    langs, lists, _ = _batch(rows, np.random.default_rng(seed))
    naive = {lang: np.zeros(n, np.int64) for lang, n in SIZES.items()}
    for lang, ids in zip(langs.to_pylist(), lists.to_pylist(), strict=True):
        for e in ids:
            naive[lang][e] += 1
    split = min(split, len(langs))
    a = count_by_language(langs.slice(0, split), lists.slice(0, split), SIZES)
    b = count_by_language(langs.slice(split), lists.slice(split), SIZES)
    total: dict[str, np.ndarray] = {}
    add_counts(total, a)
    add_counts(total, b)
    sparse = add_sparse_lang({}, [sparse_lang_counts_table(b), sparse_lang_counts_table(a)], SIZES)
    for lang in SIZES:
        want = naive[lang]
        assert np.array_equal(total.get(lang, np.zeros_like(want)), want)
        assert np.array_equal(sparse.get(lang, np.zeros_like(want)), want)


def test_count_files_one_per_language(tmp_path):
    ww = WorldwideMetadata.from_lists({"zh": ["猫", "熊猫"], "en": ["dog"], "de": ["Hund"]})
    counts = {"zh": np.array([3, 1]), "en": np.array([5])}
    files = write_language_counts(tmp_path, ww, counts)
    assert [p.name for p in files] == ["de.parquet", "en.parquet", "zh.parquet"]
    back = read_language_counts(tmp_path)
    assert back["zh"].tolist() == [3, 1] and back["de"].tolist() == [0]
    import pyarrow.parquet as pq

    t = pq.read_table(tmp_path / "zh.parquet")
    assert t.column("entry").to_pylist() == ["猫", "熊猫"]
    assert t.schema.metadata[b"metadata_hash"].decode() == ww.get("zh").hash


@settings(max_examples=200, deadline=None)
@given(rows=rows, seed=st.integers(0, 2**32), t=st.floats(0.5, 4))
def test_each_row_decided_with_its_languages_p(rows, seed, t):
    rng = np.random.default_rng(seed)
    langs, lists, uids = _batch(rows, rng)
    counts = {lang: rng.integers(0, 6, size=n) for lang, n in SIZES.items()}
    probs = language_probs(counts, {lang: t for lang in SIZES})
    keep, prob = decide_languages(langs, lists, uids, probs, seed=7)
    for i, lang in enumerate(langs.to_pylist()):
        if lang not in probs:
            assert not keep[i] and prob[i] == 0
            continue
        k1, p1 = decide(lists.slice(i, 1), uids[i : i + 1], probs[lang], seed=7)
        assert keep[i] == k1[0] and prob[i] == pytest.approx(p1[0])
