"""``metacurate demo --worldwide``: the built-in multilingual sample, curated per language."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow.parquet as pq

from metacurate.cli import main
from metacurate.demo import UNSPACED, WORLDWIDE_MIX


def test_demo_worldwide_curates_every_language_with_its_own_t(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--worldwide", "--out", str(out), "--t", "20", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    sample = pq.read_table(tmp_path / "demo-sample" / "demo_pool.parquet").to_pylist()
    assert len(sample) == 20_000
    by_lang = Counter(r["lang"] for r in sample)
    assert set(by_lang) == set(WORLDWIDE_MIX)
    for r in sample:  # Chinese and Japanese are written without spaces, the others with
        assert (" " in r["text"]) == (r["lang"] not in UNSPACED) or len(r["text"].split()) == 1
    manifest = json.loads((out / "manifest.json").read_text())
    rows = {r["lang"]: r for r in manifest["languages"]}
    assert {lang: rows[lang]["pool_rows"] for lang in by_lang} == dict(by_lang)
    assert rows["en"]["t"] == 20
    assert all(r["t"] is None or r["t"] >= 1 for r in rows.values())
    assert len({rows[lang]["t"] for lang in by_lang}) > 1  # each language its own t
    curated = pq.read_table(out / "curated").to_pylist()
    lang_of = {r["uid"]: r["lang"] for r in sample}
    assert curated and all(lang_of[r["uid"]] == r["lang"] for r in curated)
    kept = Counter(r["lang"] for r in curated)
    assert {lang: rows[lang]["curated_rows"] for lang in by_lang} == {g: kept[g] for g in by_lang}
    assert "lang" in printed and "worldwide-default" in printed
