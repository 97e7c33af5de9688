"""Indexes are built only for the languages a pool has, and cached like the English one."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from metacurate.api import curate
from metacurate.metadata.worldwide import write_worldwide


def _cached(cache) -> set[str]:
    d = cache / "languages"
    return {p.name for p in d.iterdir() if any(p.iterdir())} if d.is_dir() else set()


def test_only_the_pool_languages_get_an_index(tmp_path):
    lists = {
        "de": ["Hund", "ein", "Park"],
        "fr": ["chien", "un"],
        "en": ["dog", "a"],
        "ja": ["犬"],
        "ko": ["개"],
    }
    md = write_worldwide(tmp_path / "md", lists)
    texts = ["ein Hund im Park", "un chien"] * 30
    langs = ["de", "fr-FR"] * 30
    pool = tmp_path / "pool.parquet"
    pq.write_table(pa.table({"text": texts, "lang": langs}), pool)
    cache = tmp_path / "cache"
    m = curate(str(pool), tmp_path / "o", metadata=str(md), mode="metaclip2", lang_column="lang",
               tail_share=0.2, workers=2, report=False, index_cache=str(cache))  # fmt: skip
    assert _cached(cache) == {"de", "fr"}
    assert m["curated_rows"] > 0
    before = {p: p.stat().st_mtime_ns for p in (cache / "languages").rglob("*.npy")}
    curate(str(pool), tmp_path / "p", metadata=str(md), mode="metaclip2", lang_column="lang",
           tail_share=0.2, workers=2, report=False, index_cache=str(cache))  # fmt: skip
    after = {p: p.stat().st_mtime_ns for p in (cache / "languages").rglob("*.npy")}
    assert after == before  # reused, not rebuilt
