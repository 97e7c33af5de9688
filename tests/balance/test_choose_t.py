"""The reference of a metaclip2 run cannot vanish: ``--t`` (English's t) needs enough matched
English rows, ``--tail-share P`` gives every language the t closest to P (checked against
counts and t computed independently, by naive loops), ``--t-lang`` overrides, ``--target-size``
is refused with the reason, and the reference is printed, in the manifest and in the report.
One module chooses t."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metacurate import MetacurateError
from metacurate.api import curate
from metacurate.cli import main
from metacurate.metadata.worldwide import load_worldwide, write_worldwide
from tests.balance.test_t_per_language import brute_force_t
from tests.conftest import REPO
from tests.multilingual.captions import laion_captions, multilingual_captions, own_metadata
from tests.multilingual.reference import reference_match2_many


def _languages() -> dict[str, list[str]]:
    rows = {lang: caps[:200] for lang, caps in multilingual_captions().items()}
    if not rows:  # no shared data: generated captions
        rng = np.random.default_rng(0)
        words = {"de": ["Hund", "Katze", "rot", "blau"], "fr": ["chien", "chat", "rouge"]}
        rows = {k: [" ".join(rng.choice(w, 5)) for _ in range(200)] for k, w in words.items()}
        rows["zh"] = ["".join(rng.choice(list("猫熊狗大学中国人在的"), 8)) for _ in range(200)]
    return rows


@pytest.fixture(scope="module")
def pools(tmp_path_factory):
    """A no-English pool and a few-English pool (13 Chinese captions labelled en), over
    per-language metadata that has an English list."""
    d = tmp_path_factory.mktemp("ref")
    rows = _languages()
    english = [t for t in laion_captions() if t][:300] or ["a red dog on the beach"] * 50
    lists = {k: own_metadata(v, 2000, seed=2) for k, v in rows.items()}
    lists["en"] = own_metadata(english + rows["zh"][:13], 2000, seed=2)
    md = write_worldwide(d / "md", lists)
    texts, langs = [], []
    for lang, caps in sorted(rows.items()):
        texts += caps
        langs += [lang] * len(caps)
    none = d / "no-english.parquet"
    pq.write_table(pa.table({"text": texts, "lang": langs}), none)
    few_langs = list(langs)
    zh = [i for i, g in enumerate(langs) if g == "zh"][:13]
    for i in zh:
        few_langs[i] = "en"
    few = d / "few-english.parquet"
    pq.write_table(pa.table({"text": texts, "lang": few_langs}), few)
    return {"md": str(md), "none": str(none), "few": str(few), "texts": texts, "langs": langs}


def _cli(pools, pool: str, out: Path, *extra: str) -> list[str]:
    return [
        "curate", pool, "--out", str(out), "--mode", "metaclip2", "--lang-column", "lang",
        "--metadata", pools["md"], "--workers", "1", *extra,
    ]  # fmt: skip


def _errors(capsys) -> str:
    """stderr without the warnings about the test's own lists."""
    err = capsys.readouterr().err
    return "\n".join(x for x in err.splitlines() if not x.startswith("metacurate: warning"))


@pytest.mark.parametrize("pool", ["none", "few"])
def test_t_without_enough_english_is_refused_in_one_line(pools, pool, tmp_path, capsys):
    code = main(_cli(pools, pools[pool], tmp_path / "o", "--t", "20"))
    err = _errors(capsys)
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert "matched English rows" in err and "1,000" in err  # MIN_REFERENCE_ROWS
    assert "--tail-share" in err and "--t-lang" in err
    assert not (tmp_path / "o" / "manifest.json").exists()


def _naive_counts(pools, ww) -> dict[str, np.ndarray]:
    texts, langs = pools["texts"], pools["langs"]
    out = {}
    for lang in ww.languages:
        c = np.zeros(len(ww.get(lang)), np.int64)
        mine = [t for t, g in zip(texts, langs, strict=True) if g == lang]
        for ids in reference_match2_many(list(ww.get(lang).entries), mine):
            c[ids] += 1
        out[lang] = c
    return out


def test_tail_share_gives_each_language_the_closest_t(pools, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(_cli(pools, pools["none"], out, "--tail-share", "0.2")) == 0
    printed = capsys.readouterr().out
    m = json.loads((out / "manifest.json").read_text())
    naive = _naive_counts(pools, load_worldwide(pools["md"]))
    for lang, c in naive.items():
        assert m["t_lang"][lang] == brute_force_t(c, 0.2), lang
        total = c.sum()
        want = c[c < m["t_lang"][lang]].sum() / total if total else 0.0
        assert m["tail_share_lang"][lang] == pytest.approx(want, abs=1e-15)
    ref = m["worldwide_t"]["reference"]
    assert ref["kind"] == "tail_share" and ref["share"] == 0.2
    assert "tail share" in ref["why"] and "reference:" in printed
    assert m["curated_rows"] > 0


def test_t_lang_overrides_single_languages(pools, tmp_path):
    m = curate(pools["none"], tmp_path / "o", metadata=pools["md"], mode="metaclip2",
               lang_column="lang", tail_share=0.2, t_lang={"zh": 3.0, "de": 7.0},
               workers=1, report=False)  # fmt: skip
    naive = _naive_counts(pools, load_worldwide(pools["md"]))
    assert m["t_lang"]["zh"] == 3.0 and m["t_lang"]["de"] == 7.0
    assert m["t_lang"]["fr"] == brute_force_t(naive["fr"], 0.2)
    c = naive["zh"]
    assert m["tail_share_lang"]["zh"] == pytest.approx(c[c < 3].sum() / c.sum())
    assert m["worldwide_t"]["reference"]["t_lang"] == {"de": 7.0, "zh": 3.0}
    # --t with every language that has rows overridden needs no English reference
    m = curate(pools["none"], tmp_path / "p", metadata=pools["md"], mode="metaclip2",
               lang_column="lang", t=20.0, t_lang={x: 4.0 for x in _languages()},
               workers=1, report=False)  # fmt: skip
    assert all(m["t_lang"][x] == 4.0 for x in _languages())
    with pytest.raises(MetacurateError, match="no such language"):
        curate(pools["none"], tmp_path / "q", metadata=pools["md"], mode="metaclip2",
               lang_column="lang", tail_share=0.2, t_lang={"xx": 3.0}, workers=1,
               report=False)  # fmt: skip


def test_t_lang_flag_parses_and_is_refused_under_metaclip1(pools, tmp_path, capsys):
    code = main(_cli(pools, pools["none"], tmp_path / "o", "--tail-share", "0.2",
                     "--t-lang", "zh=3,de=7"))  # fmt: skip
    assert code == 0
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["config"]["balance"]["t_lang"] == {"zh": 3.0, "de": 7.0}
    capsys.readouterr()
    code = main(["curate", pools["none"], "--out", str(tmp_path / "p"), "--text-column", "text",
                 "--t", "5", "--t-lang", "zh=3", "--workers", "1"])  # fmt: skip
    assert code == 2 and "metaclip2" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:  # argparse: usage and one error line
        main(_cli(pools, pools["none"], tmp_path / "q", "--t", "5", "--t-lang", "zh"))
    assert bad.value.code == 2 and "is not LANG=T" in capsys.readouterr().err


def test_target_size_is_refused_with_the_reason(pools, tmp_path, capsys):
    code = main(_cli(pools, pools["none"], tmp_path / "o", "--target-size", "100"))
    err = _errors(capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert "step function" in err and "--tail-share" in err


def test_report_shows_the_reference(pools, tmp_path):
    out = tmp_path / "o"
    curate(pools["none"], out, metadata=pools["md"], mode="metaclip2", lang_column="lang",
           tail_share=0.2, workers=1, report=False)  # fmt: skip
    from metacurate.report import write_report

    page = write_report(out).read_text(encoding="utf-8")
    assert "<b>Reference</b>: --tail-share 0.2" in page
    table = page[page.index('id="languages"') :]
    assert "<td>en</td>" not in table  # the metadata's English list has no rows here
    assert all(f"<td>{x}</td>" in table for x in _languages())
    assert "1 more languages of the metadata have no rows" in table


#: The only modules that may call the functions that turn a reference into t.
CHOOSERS = {"balance/choose_t.py", "balance/worldwide.py", "balance/threshold.py"}


def test_one_module_chooses_t():
    names = {"t_for_tail_share", "t_for_target_size", "t_per_language"}
    src = REPO / "src" / "metacurate"
    offenders = []
    for path in src.rglob("*.py"):
        rel = path.relative_to(src).as_posix()
        if rel in CHOOSERS or rel.endswith("__init__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
                if name in names:
                    offenders.append(f"{rel}:{node.lineno} {name}")
    assert offenders == []


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()
    }


def test_plan_of_a_worldwide_folder_gives_each_language_t_size_and_share(pools, tmp_path, capsys):
    out = tmp_path / "o"
    m = curate(pools["none"], out, metadata=pools["md"], mode="metaclip2", lang_column="lang",
               tail_share=0.2, t_lang={"de": 7.0}, workers=1, report=False)  # fmt: skip
    before = _tree(out)
    assert main(["plan", str(out), "--tail-share", "0.2", "0.3", "--t-lang", "de=7"]) == 0
    printed = capsys.readouterr().out
    assert _tree(out) == before  # nothing written
    from metacurate.plan import plan

    doc = plan(out, tail_shares=[0.2, 0.3], t_lang={"de": 7.0})
    first, second = doc["worldwide"]["tables"]
    want = {r["lang"]: r for r in m["languages"] if r["pool_rows"]}
    assert {r["lang"] for r in first["languages"]} == set(want)  # languages with rows only
    for r in first["languages"]:
        w = want[r["lang"]]
        assert r["t"] == w["t"] and r["tail_share"] == w["tail_share"]
        assert r["expected_rows"] == pytest.approx(w["expected_rows"], rel=1e-12)
    naive = _naive_counts(pools, load_worldwide(pools["md"]))
    for r in second["languages"]:
        want_t = 7.0 if r["lang"] == "de" else brute_force_t(naive[r["lang"]], 0.3)
        assert r["t"] == want_t, r["lang"]
    assert "reference: --tail-share 0.3" in printed and "expected rows" in printed
    assert "more languages of the metadata have no rows" in printed
    with pytest.raises(MetacurateError, match="matched English rows"):
        plan(out, ts=[20.0])
