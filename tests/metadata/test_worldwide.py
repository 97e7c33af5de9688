"""Worldwide metadata: the folder format and hashes, info/diff per language, the worldwide
build recipe (merge, PMI, caps, merges of Wikipedia languages) and the built-in default."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metacurate import MetacurateError, spacing
from metacurate.metadata import load_default_metadata, metadata_hash
from metacurate.metadata.cli import main as metadata_main
from metacurate.metadata.worldwide import (
    WorldwideMetadata,
    is_worldwide_spec,
    load_worldwide,
    worldwide_hash,
    write_worldwide,
)
from metacurate.metadata.worldwide_build import (
    BUILD_FILE,
    WorldwideBuildConfig,
    build_wiki_language,
    build_worldwide,
    merge_ngram_files,
)
from metacurate.metadata.worldwide_info import (
    describe_worldwide,
    diff_worldwide,
    unmatchable_reason_mode,
)
from tests.multilingual.reference import spaced_entry

LISTS = {"zh": ["猫", "熊猫", "12"], "de": ["Hund", "Katze"], "en": ["dog", "cat"]}


def test_folder_roundtrip_and_hashes(tmp_path):
    d = write_worldwide(tmp_path / "md", LISTS)
    assert sorted(p.name for p in d.iterdir()) == ["de.json", "en.json", "zh.json"]
    (d / "zh.sources.json").write_text("{}")  # side files are not languages
    (d / "_build.json").write_text("{}")
    ww = load_worldwide(d)
    assert ww.languages == ("de", "en", "zh") and is_worldwide_spec(d)
    assert ww.get("zh").entries == ("猫", "熊猫", "12")
    assert ww.hashes() == {k: metadata_hash(v) for k, v in LISTS.items()}
    canonical = json.dumps(sorted(ww.hashes().items()), separators=(",", ":"))
    assert ww.hash == hashlib.sha256(canonical.encode()).hexdigest() == worldwide_hash(ww.hashes())
    assert WorldwideMetadata.from_lists(LISTS).hash == ww.hash  # formatting-independent
    changed = WorldwideMetadata.from_lists({**LISTS, "de": ["Katze", "Hund"]})
    assert changed.hash != ww.hash and changed.hashes()["zh"] == ww.hashes()["zh"]
    with pytest.raises(MetacurateError, match="no metadata for language 'fr'"):
        ww.get("fr")


def test_folder_errors_name_the_fix(tmp_path):
    with pytest.raises(MetacurateError, match="must be a folder"):
        load_worldwide(tmp_path / "missing")
    with pytest.raises(MetacurateError, match="no \\{lang\\}.json"):
        load_worldwide(tmp_path)
    (tmp_path / "Chinese.json").write_text("[]")
    with pytest.raises(MetacurateError, match="not a language code"):
        load_worldwide(tmp_path)
    (tmp_path / "Chinese.json").unlink()
    (tmp_path / "zh.json").write_text('["a"]')
    (tmp_path / "zh.json.gz").write_bytes(b"")
    with pytest.raises(MetacurateError, match="given twice"):
        load_worldwide(tmp_path)


def test_info_and_diff_per_language(tmp_path, capsys):
    a = write_worldwide(tmp_path / "a", LISTS)
    b = write_worldwide(
        tmp_path / "b", {"zh": ["猫", "熊猫", "大学"], "en": ["dog", "cat"], "fr": ["chat"]}
    )
    doc = describe_worldwide(load_worldwide(a))
    assert doc["languages"] == 3 and doc["entries"] == 7
    zh = doc["per_language"]["zh"]
    assert (zh["fully_padded"], zh["half_padded"], zh["unpadded"]) == (1, 0, 2)
    d = diff_worldwide(load_worldwide(a), load_worldwide(b))
    assert d["only_in_a"] == ["de"] and d["only_in_b"] == ["fr"] and d["unchanged"] == ["en"]
    assert set(d["changed"]) == {"zh"} and d["changed"]["zh"]["added"]["count"] == 1
    assert metadata_main(["metadata", "info", str(a)]) == 0
    out = capsys.readouterr().out
    assert "zh" in out and "3 languages" in out
    assert metadata_main(["metadata", "diff", str(a), str(b), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["only_in_b"] == ["fr"]
    assert metadata_main(["metadata", "diff", str(a), str(a)]) == 0
    assert "identical" in capsys.readouterr().out
    assert metadata_main(["metadata", "diff", str(a), str(a / "zh.json")]) == 2


@settings(max_examples=300, deadline=None)
@given(
    entry=st.text(alphabet=st.sampled_from(list("ab猫 ,.!\t`")), min_size=1, max_size=6),
    text=st.text(alphabet=st.sampled_from(list("ab猫 ,.!\t`")), max_size=12),
)
def test_unmatchable_entries_never_match(entry, text):
    if unmatchable_reason_mode(entry):
        assert spaced_entry(entry) not in spacing(text)


# -- build -------------------------------------------------------------------------------------


def test_partial_ngram_files_are_added(tmp_path):
    (tmp_path / "de" / "AA").mkdir(parents=True)
    (tmp_path / "de" / "AA" / "wiki_00.json").write_text(
        json.dumps({"unigram": {"Hund": 2, "Katze": 1}, "bigram": {"Hund Katze": 1}})
    )
    (tmp_path / "de" / "wiki_01.json").write_text(
        json.dumps({"unigram": {"Hund": 3}, "bigram": {"Hund Katze": 4}})
    )
    uni, bi = merge_ngram_files(sorted((tmp_path / "de").rglob("*.json")))
    assert uni == {"Hund": 5, "Katze": 1} and bi == {"Hund Katze": 5}


def test_recipe_caps_pmi_and_order():
    unigrams = {f"w{i}": 1000 - i for i in range(199)}  # with 6 more: 10% -> 20 unigrams
    unigrams.update({"a": 1, "b": 1, "c": 1, "d": 2, "big": 2**40, "x": 1})
    n = sum(unigrams.values())
    bigrams = {"a b": 1, "c d": 1, "w0 w1": 5, "missing x": 3}
    titles = {f"T{i}": 100 - i for i in range(10)}  # 76% -> 7 titles
    entries, stats = build_wiki_language("de", unigrams, bigrams, titles, ["Hund", "  ", "!!"])
    assert entries[:100] == [str(i) for i in range(100)] and entries[100] == "Hund"
    assert entries[101:121] == ["big"] + [f"w{i}" for i in range(19)]
    pmi = {k: math.log2(c * n) - math.log2(unigrams[k.split()[0]] * unigrams[k.split()[1]])
           for k, c in bigrams.items() if k != "missing x"}  # fmt: skip
    above = sorted((k for k, v in pmi.items() if v > 30), key=lambda k: (-pmi[k], k))
    assert above == ["a b", "c d"]  # w0 w1: PMI ~22; "missing x": a word has no count
    assert entries[121 : 121 + len(above)] == above
    assert entries[121 + len(above) :] == [f"T{i}" for i in range(7)]
    assert stats["unigram"] == 20 and stats["title"] == 7


def test_no_space_languages_join_bigrams():
    uni = {"東": 1, "京": 1, **{f"x{i}": 10**9 for i in range(3)}}
    entries, _ = build_wiki_language("ja", uni, {"東 京": 1}, {})
    assert "東京" in entries and "東 京" not in entries


def test_build_merges_wikipedias_and_writes_folder(tmp_path, capsys):
    ng = tmp_path / "ng"
    ng.mkdir()
    for code, words in {
        "zh": ["猫", "狗"],
        "zh_yue": ["貓", "猫"],
        "simple": ["cat"],
        "sq": ["qen"],
    }.items():
        (ng / f"{code}.json").write_text(
            json.dumps({"unigram": {w: 100 for w in words * 10}, "bigram": {}}, ensure_ascii=False)
        )
    wn = tmp_path / "wn.json"
    wn.write_text(json.dumps({"als": ["mace"], "cmn": ["熊猫"]}, ensure_ascii=False))
    cfg = WorldwideBuildConfig(ngrams_dir=str(ng), wordnet_json=str(wn))
    lists, stats = build_worldwide(cfg)
    assert sorted(lists) == ["en", "other", "sq", "zh"]
    assert lists["zh"][100:] == ["熊猫"] or "熊猫" in lists["zh"]
    assert "mace" in lists["sq"]  # OMW 'als' is Albanian
    assert stats["merged_into"] == {"simple": "other", "sq": "sq", "zh": "zh", "zh_yue": "zh"}
    assert lists["en"] == list(load_default_metadata().entries)
    out = tmp_path / "out"
    argv = ["metadata", "build", "--worldwide", "--out", str(out), "--wiki-ngrams", str(ng)]
    argv += ["--wordnet-per-lang", str(wn)]
    assert metadata_main(argv) == 0 and "4 languages" in capsys.readouterr().out
    ww = load_worldwide(out)
    assert ww.languages == ("en", "other", "sq", "zh")
    doc = json.loads((out / BUILD_FILE).read_text())
    assert doc["hash"] == ww.hash and doc["hashes"] == ww.hashes()
    first = (out / "zh.json").read_bytes()
    assert metadata_main(argv) == 0
    assert (out / "zh.json").read_bytes() == first  # deterministic


# -- the built-in default -----------------------------------------------------------------------


def test_builtin_worldwide_default():
    ww = load_worldwide("worldwide-default")
    assert len(ww) >= 40 and {"en", "zh", "ja", "de", "fr", "cs", "ko"} <= set(ww.languages)
    assert "approximates" in ww.note
    assert ww.get("en").entries == load_default_metadata().entries
    for lang in ("zh", "de", "ja"):
        e = ww.get(lang).entries
        assert e[:100] == tuple(str(i) for i in range(100)) and len(e) > 10_000
        assert len(set(e)) == len(e)
        assert not any(unmatchable_reason_mode(x) for x in e)
    assert "猫" in ww.get("zh").entries and "Hund" not in ww.get("de").entries  # lower case only
