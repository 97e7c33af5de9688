"""Both metaclip2 modes on real captions (zh, de, fr, cs and the multilingual LAION sample,
grouped by language) against per-language metadata built from their own text: zero
differences from the naive loop."""

from __future__ import annotations

import random

import pytest

from metacurate import Matcher
from metacurate.match.metaclip2 import split_entries, worldwide_kernel_available
from tests.conftest import oracle_size
from tests.multilingual.captions import laion_captions, multilingual_captions, own_metadata
from tests.multilingual.reference import reference_match2_many

MODES = ["metaclip2", "metaclip2-kana"]


def _groups() -> dict[str, list[str | None]]:
    groups: dict[str, list[str | None]] = dict(multilingual_captions())
    laion = laion_captions()
    if laion:
        from metacurate.match.lid import lid_available, lid_batch

        if lid_available():
            labels = lid_batch(laion).label.to_pylist()
        else:  # still split by script: CJK/kana rows apart from the rest
            cjk = [t is not None and any("\u3040" <= c <= "\u9fff" for c in t) for t in laion]
            labels = ["cjk" if x else "xx" for x in cjk]
        by: dict[str, list[str | None]] = {}
        for t, lang in zip(laion, labels, strict=True):
            by.setdefault(lang, []).append(t)
        for lang, rows in by.items():
            if len(rows) >= 20:
                groups[f"laion-{lang}"] = rows
    return groups


GROUPS = _groups()


def _check(captions: list[str | None], md: list[str], mode: str) -> None:
    expected = reference_match2_many(md, captions, mode)
    assert sum(len(e) for e in expected) >= 2 * len(captions)  # the metadata really hits them
    impls = [False] + ([True] if worldwide_kernel_available() else [])
    for native in impls:
        got = Matcher(md, mode=mode, native=native).match_batch(captions).to_pylist()
        diffs = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
        first = captions[diffs[0]] if diffs else None
        assert diffs == [], f"native={native}: {len(diffs)} differences, first {first!r}"


@pytest.mark.slow
@pytest.mark.skipif(not GROUPS, reason="shared captions not present (set METACURATE_SHARED)")
@pytest.mark.parametrize("group", sorted(GROUPS))
@pytest.mark.parametrize("mode", MODES)
def test_real_captions_equal_naive_loop(group, mode):
    rows = GROUPS[group]
    sample = random.Random(3).sample(rows, min(len(rows), oracle_size(250, 600)))
    md = own_metadata(sample, 6000, seed=len(rows))
    full, patterns = split_entries(md, mode)
    assert len(full) >= 100  # both halves of the matcher are exercised
    if group in ("zh", "laion-zh", "laion-ja", "cjk"):
        assert sum(len(v) for v in patterns.values()) > 300
    _check(sample, md, mode)
