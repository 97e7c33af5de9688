"""Per-language t: equal to a brute-force computation of the rule on real counts, always >= 1,
and the official p_to_t's zero and off-by-one shown."""

from __future__ import annotations

import csv
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metacurate import Matcher, MetacurateError
from metacurate.balance.worldwide import (
    official_p_to_t,
    official_t_to_p,
    t_per_language,
)
from tests.conftest import shared_dir
from tests.multilingual.captions import laion_captions, multilingual_captions, own_metadata


def brute_force_t(counts: np.ndarray, p: float) -> int:
    """Every integer t from 1 to max(count) + 1; the first with the smallest |share - p|.
    (Beyond max + 1 the share no longer changes.)"""
    c = np.asarray(counts, dtype=np.int64)
    total = int(c.sum())
    best_t, best_d = 1, None
    for t in range(1, int(c.max(initial=0)) + 2):
        share = int(c[c < t].sum()) / total if total else 0.0
        d = abs(share - p)
        if best_d is None or d < best_d:
            best_t, best_d = t, d
    return best_t


@cache
def real_counts() -> dict[str, np.ndarray]:
    """Per-language entry counts of real captions, matched with mode metaclip2: English (CC3M
    and LAION against the built-in English metadata), zh/de/fr/cs against their own lists."""
    from metacurate.metadata import load_default_metadata

    out: dict[str, np.ndarray] = {}
    d = shared_dir()
    english: list[str | None] = list(laion_captions())
    if d is not None and (d / "data/captions/cc3m_validation.tsv").exists():
        with open(d / "data/captions/cc3m_validation.tsv", encoding="utf-8", newline="") as f:
            english += [r[0] for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    if english:
        md = load_default_metadata()
        ids = Matcher(md, mode="metaclip2").match_batch(english).flatten().to_numpy()
        out["en"] = np.bincount(ids, minlength=len(md))
    for lang, caps in multilingual_captions().items():
        md = own_metadata(caps, 5000, seed=1)
        ids = Matcher(md, mode="metaclip2").match_batch(caps).flatten().to_numpy()
        out[lang] = np.bincount(ids, minlength=len(md))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("t_en", [5, 40, 300, 2000])
def test_per_language_t_equals_brute_force_on_real_counts(t_en):
    counts = real_counts()
    if "en" not in counts or len(counts) < 2:
        pytest.skip("shared captions not present")
    res = t_per_language(counts, t_en)
    c_en = counts["en"]
    p = c_en[c_en < t_en].sum() / c_en.sum()
    assert res.reference_share == pytest.approx(p, abs=0)
    assert res.t["en"] == t_en
    for lang, c in counts.items():
        if lang != "en":
            assert res.t[lang] == brute_force_t(c, p), lang
        assert res.t[lang] >= 1
        assert res.tail_share[lang] == c[c < res.t[lang]].sum() / c.sum()
    assert res.as_manifest()["t"] == dict(sorted(res.t.items()))


@settings(max_examples=300, deadline=None)
@given(
    counts=st.dictionaries(
        st.sampled_from(["de", "zh", "ja", "other"]),
        st.lists(st.integers(0, 60), max_size=12).map(np.array),
        max_size=4,
    ),
    en=st.lists(st.integers(0, 60), max_size=12).map(np.array),
    t_en=st.integers(1, 80),
    rule=st.sampled_from(["metacurate", "official"]),
)
def test_t_is_at_least_one_and_the_rule_holds(counts, en, t_en, rule):
    counts = {"en": en, **counts}
    res = t_per_language(counts, t_en, rule=rule)
    p = float(en[en < t_en].sum() / en.sum()) if en.sum() else 0.0
    assert res.reference_share == pytest.approx(p)
    for lang, c in counts.items():
        assert res.t[lang] >= 1
        if lang != "en" and rule == "metacurate":
            assert res.t[lang] == brute_force_t(c, p)
        if lang != "en" and rule == "official":
            assert res.t[lang] == max(1, res.official_raw[lang])


def test_official_rule_gives_zero_and_we_clamp():
    """Many zero counts sort first; when p is closer to 0 than to the first non-zero
    cumulative share, the official p_to_t returns count value 0: every p_e = 0 / count."""
    en = np.array([1, 1, 1, 1, 96])  # t_en = 2: p = 4/100
    lang = np.array([0, 0, 0, 0, 50, 50])
    p = official_t_to_p(en, 2)
    assert p == pytest.approx(0.04)
    assert official_p_to_t(lang, p) == 0  # the whole language would be dropped
    official = t_per_language({"en": en, "xx": lang}, 2, rule="official")
    assert official.official_raw["xx"] == 0 and official.t["xx"] == 1.0
    ours = t_per_language({"en": en, "xx": lang}, 2)
    assert ours.t["xx"] == 1.0 == brute_force_t(lang, p)
    assert ours.as_manifest()["t"] == {"en": 2.0, "xx": 1.0}
    assert "official_raw_t" in official.as_manifest()


def test_official_rule_is_off_by_one_count_value():
    c = np.array([1, 2, 3, 4])
    p = official_t_to_p(c, 3)  # (1 + 2) / 10
    t_off = official_p_to_t(c, p)
    assert t_off == 2 and official_t_to_p(c, t_off) == pytest.approx(0.1)  # not 0.3
    res = t_per_language({"en": c, "xx": c}, 3)
    assert res.t["xx"] == 3 and res.tail_share["xx"] == pytest.approx(p)


def test_errors_name_the_fix():
    with pytest.raises(MetacurateError, match="reference language 'en'"):
        t_per_language({"zh": np.array([1, 2])}, 10)
    with pytest.raises(MetacurateError, match="unknown per-language t rule"):
        t_per_language({"en": np.array([1])}, 10, rule="nope")
    with pytest.raises(MetacurateError, match="must be > 0"):
        t_per_language({"en": np.array([1])}, 0)
