"""``curate --mode metaclip2`` end to end: per-language exactness of counts and t, the files it
writes, and determinism (1 vs 2 workers, 1 vs many files, local vs Ray, kill and resume)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate import MetacurateError
from metacurate.api import curate
from metacurate.balance.worldwide import t_per_language
from metacurate.count_lang import read_language_counts
from metacurate.metadata.worldwide import load_worldwide, write_worldwide
from tests.conftest import REPO, require_system
from tests.multilingual.captions import laion_captions, multilingual_captions, own_metadata
from tests.multilingual.reference import reference_match2_many

T_EN = 6.0


def _rows() -> dict[str, list[str]]:
    rows = {lang: caps[:250] for lang, caps in multilingual_captions().items()}
    en = [t for t in laion_captions() if t][:1200]  # >= MIN_REFERENCE_ROWS matched
    if en:
        rows["en"] = en
    if not rows:  # no shared data: a generated pool in three languages
        rng = np.random.default_rng(0)
        words = {
            "en": ["dog", "cat", "red", "car", "photo", "of", "the", "beach"],
            "de": ["Hund", "Katze", "rot"],
        }
        rows = {k: [" ".join(rng.choice(w, 5)) for _ in range(1100)] for k, w in words.items()}
        rows["zh"] = ["".join(rng.choice(list("猫熊狗大学中国人在的"), 8)) for _ in range(300)]
    return rows


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A pool (4 files, with a ``lang`` column incl. unknown and missing values) and a
    per-language metadata folder built from each language's own captions."""
    d = tmp_path_factory.mktemp("ww")
    rows = _rows()
    md_dir = write_worldwide(d / "md", {k: own_metadata(v, 3000, seed=2) for k, v in rows.items()})
    texts, langs, urls = [], [], []
    for lang, caps in sorted(rows.items()):
        for i, c in enumerate(caps):
            texts.append(c)
            langs.append(lang if i % 25 else ("xx" if i % 2 else None))
            urls.append(f"http://img/{lang}/{i}.jpg")
    order = np.random.default_rng(1).permutation(len(texts))
    table = pa.table({"url": urls, "text": texts, "lang": langs}).take(pa.array(order))
    whole = d / "whole.parquet"
    pq.write_table(table, whole, row_group_size=200)
    parts = []
    step = -(-table.num_rows // 4)
    for i in range(4):
        p = d / f"part-{i}.parquet"
        pq.write_table(table.slice(i * step, step), p, row_group_size=200)
        parts.append(str(p))
    return {"md": md_dir, "whole": str(whole), "parts": parts, "table": table}


def run(world, out: Path, pool=None, **kw) -> dict:
    options = dict(mode="metaclip2", lang_column="lang", t=T_EN, seed=3, batch_rows=300)
    options.update(kw)
    return curate(pool or world["parts"], out, metadata=str(world["md"]), report=False, **options)


def curated_rows(out: Path) -> list[tuple]:
    tables = [pq.read_table(p) for p in sorted((out / "curated").glob("*.parquet"))]
    t = pa.concat_tables(tables)
    return sorted(
        zip(
            t.column("uid").to_pylist(),
            t.column("lang").to_pylist(),
            t.column("entry_ids").to_pylist(),
            strict=True,
        )
    )


def test_counts_t_and_files_are_exact(world, tmp_path):
    out = tmp_path / "out"
    m = run(world, out, workers=1)
    ww = load_worldwide(world["md"])
    table = world["table"]
    texts = table.column("text").to_pylist()
    given = table.column("lang").to_pylist()
    naive = {lang: np.zeros(len(ww.get(lang)), np.int64) for lang in ww.languages}
    for lang in ww.languages:
        idx = [i for i, g in enumerate(given) if g == lang]
        for ids in reference_match2_many(list(ww.get(lang).entries), [texts[i] for i in idx]):
            naive[lang][ids] += 1
    # a count file per language with rows in the pool only; the others count zeros
    assert sorted(read_language_counts(out / "counts")) == sorted(set(given) & set(ww.languages))
    got = read_language_counts(out / "counts", ww)
    assert sorted(got) == list(ww.languages)
    for lang in ww.languages:
        assert np.array_equal(got[lang], naive[lang]), lang
    want_t = t_per_language(naive, T_EN)
    assert m["t_lang"] == dict(sorted(want_t.t.items()))
    assert m["tail_share_lang"] == pytest.approx(dict(sorted(want_t.tail_share.items())))
    table_rows = {r["lang"]: r for r in m["languages"]}
    assert table_rows["other"]["pool_rows"] == sum(g not in ww.languages for g in given)
    assert table_rows["other"]["curated_rows"] == 0  # no other.json: counted, never kept
    assert sum(r["pool_rows"] for r in m["languages"]) == table.num_rows
    assert sum(r["curated_rows"] for r in m["languages"]) == m["curated_rows"] > 0
    rows = curated_rows(out)
    assert {lang for _, lang, _ in rows} <= set(ww.languages)
    side = pa.concat_tables(
        pq.read_table(p) for p in sorted((out / "matches").glob("*-*[0-9a-f].parquet"))
    )
    assert {"lang", "lid_label", "lid_score"} <= set(side.column_names)
    assert side.column("lid_label").null_count == side.num_rows  # languages came from the column
    assert not list(out.rglob("*.pkl"))
    from metacurate.report import write_report

    page = write_report(out).read_text(encoding="utf-8")
    assert 'id="languages"' in page and all(f"<td>{x}</td>" in page for x in ww.languages)


def test_one_vs_two_workers_and_one_vs_many_files(world, tmp_path):
    a = curated_rows(run(world, tmp_path / "a", workers=1) and tmp_path / "a")
    b = curated_rows(run(world, tmp_path / "b", workers=2) and tmp_path / "b")
    c = curated_rows(
        run(world, tmp_path / "c", pool=[world["whole"]], workers=2) and tmp_path / "c"
    )
    assert a == b == c and len(a) > 100


def test_needs_t_and_english(world, tmp_path):
    with pytest.raises(MetacurateError, match="target size is not available"):
        curate(world["parts"], tmp_path / "x", metadata=str(world["md"]), mode="metaclip2",
               lang_column="lang", target_size=100, report=False)  # fmt: skip
    with pytest.raises(MetacurateError, match="per-language metadata"):
        curate(world["parts"], tmp_path / "y", metadata="default", mode="metaclip2", t=5.0,
               report=False)  # fmt: skip
    with pytest.raises(MetacurateError, match="no language column 'language'"):
        run(world, tmp_path / "z", lang_column="language")


@pytest.mark.slow
def test_kill_and_resume_give_the_same_rows(world, tmp_path):
    clean = tmp_path / "clean"
    run(world, clean, workers=1)
    want = curated_rows(clean)
    for point in ("match-batch:3", "count-file:2", "balance-batch:2", "balance-record:1"):
        out = tmp_path / point.replace(":", "-")
        argv = [
            sys.executable,
            "-m",
            "tests.multilingual.crash_ww",
            point,
            str(out),
            str(world["md"]),
        ]
        proc = subprocess.run(argv + world["parts"], cwd=REPO, capture_output=True)
        assert proc.returncode == -9, proc.stderr.decode()[-2000:]
        run(world, out, workers=1)
        assert curated_rows(out) == want, point
        left = [p for p in out.rglob("*") if ".tmp-" in p.name]
        assert left == []


@pytest.mark.slow
def test_ray_gives_the_local_rows(world, tmp_path):
    require_system("ray", importlib.util.find_spec("ray") is not None)
    import ray

    # "local": a cluster of its own, never one that a parallel test started with ray start
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        run(world, tmp_path / "ray", workers=2, engine="ray")
    finally:
        ray.shutdown()
    run(world, tmp_path / "local", workers=2)
    assert curated_rows(tmp_path / "ray") == curated_rows(tmp_path / "local")
    m = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert m["t_lang"] == json.loads((tmp_path / "local" / "manifest.json").read_text())["t_lang"]
